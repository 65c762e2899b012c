//! Garbage collection planning on a generated index: 100,000 objects and 10,000 units.
//!
//! Measures what `cargo store gc` does under the exclusive lock before it deletes anything:
//! reading the planner's inputs from SQLite (`gc_inputs`) and planning (`plan`), separately
//! and together. Run with `cargo bench --bench gc`.
//!
//! The index is generated once: 10,000 units of 10 files each, every file its own object
//! (100,000 objects), each unit depending on up to four earlier units, half of the units held
//! by a root, last-use times spread over 60 days. The policy evicts by age and by size, so the
//! planner walks the dependency closure, not only a list.

use std::path::Path;
use std::sync::OnceLock;

use cargo_store_cas::{GcInputs, GcPolicy, Index, ManifestEntry, NewUnit, ObjectId, ObjectRecord, PackageKey, plan};
use cargo_store_fs::FileClass;

const UNITS: usize = 10_000;
const FILES_PER_UNIT: usize = 10;
const DAY: i64 = 86_400;
const NOW: i64 = 1_800_000_000;

fn main() {
    divan::main();
}

/// A deterministic pseudo-random sequence (no dependency needed for a benchmark's shuffle).
fn mix(value: u64) -> u64 {
    let mut x = value.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// The generated index, built once per run in a temporary directory.
fn index_path() -> &'static Path {
    static DIRECTORY: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIRECTORY
        .get_or_init(|| {
            let directory = tempfile::tempdir().expect("temporary directory");
            generate(&directory.path().join("index.sqlite"));
            directory
        })
        .path()
        .join("index.sqlite")
        .leak()
}

fn generate(path: &Path) {
    let mut index = Index::open(path).expect("open index");
    let transaction = index.transaction().expect("transaction");
    let root = transaction.register_root(Path::new("/worktree/target"), 1, 1, NOW).expect("root");
    let mut referenced = Vec::new();
    for unit in 0..UNITS {
        let files: Vec<ManifestEntry> = (0..FILES_PER_UNIT)
            .map(|file| {
                let seed = (unit * FILES_PER_UNIT + file) as u64;
                let id = ObjectId::of_bytes(&seed.to_le_bytes(), false);
                let size = 1_000 + mix(seed) % 200_000;
                transaction
                    .insert_object(&ObjectRecord { id, size, modified_ns: 0, inode: seed }, NOW)
                    .expect("object");
                ManifestEntry {
                    path: format!("deps/lib{unit}-{file}.rlib").into_bytes(),
                    object: Some(id),
                    size,
                    mode: 0o644,
                    modified_ns: 0,
                    class: FileClass::RustcOutput,
                    link_group: None,
                }
            })
            .collect();
        let dependencies = (0..mix(unit as u64) % 5)
            .filter(|_| unit > 0)
            .map(|k| format!("unit-{}", mix(unit as u64 + k) as usize % unit))
            .collect();
        let last_used = NOW - (mix(unit as u64 ^ 0xabcd) % (60 * DAY as u64)) as i64;
        let id = transaction
            .insert_unit(
                &NewUnit {
                    key: format!("unit-{unit}"),
                    toolchain: "rustc 1.95.0".into(),
                    layout: "legacy".into(),
                    place: "debug".into(),
                    name: format!("crate{unit}-0123456789abcdef"),
                    kind: "lib".into(),
                    fingerprint_name: format!("lib-crate{unit}"),
                    fingerprint: "0123456789abcdef".into(),
                    package: PackageKey {
                        name: format!("crate{unit}"),
                        version: "1.0.0".into(),
                        source: "registry+https://github.com/rust-lang/crates.io-index".into(),
                    },
                    bytes: files.iter().map(|file| file.size).sum(),
                    files,
                    dependencies,
                },
                last_used,
            )
            .expect("unit");
        if unit % 2 == 0 {
            referenced.push(id);
        }
    }
    transaction.reference(root, &referenced, NOW).expect("references");
    transaction.commit().expect("commit");
}

fn policy() -> GcPolicy {
    // Evicts by age (unreferenced, unused for 30 days) and then by size down to 40 GiB.
    GcPolicy { now: NOW, max_age: 30 * DAY, max_size: 40 << 30 }
}

fn inputs() -> GcInputs {
    let mut index = Index::open(index_path()).expect("open index");
    let transaction = index.transaction().expect("transaction");
    transaction.gc_inputs().expect("inputs")
}

#[divan::bench(sample_count = 10)]
fn read_inputs(bencher: divan::Bencher) {
    let mut index = Index::open(index_path()).expect("open index");
    bencher.bench_local(|| {
        let transaction = index.transaction().expect("transaction");
        transaction.gc_inputs().expect("inputs")
    });
}

#[divan::bench(sample_count = 20)]
fn plan_only(bencher: divan::Bencher) {
    let inputs = inputs();
    bencher.bench_local(|| plan(&inputs, &policy()));
}

#[divan::bench(sample_count = 10)]
fn read_and_plan(bencher: divan::Bencher) {
    let mut index = Index::open(index_path()).expect("open index");
    bencher.bench_local(|| {
        let transaction = index.transaction().expect("transaction");
        let inputs = transaction.gc_inputs().expect("inputs");
        plan(&inputs, &policy())
    });
}
