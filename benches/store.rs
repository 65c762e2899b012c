//! Micro-benchmarks of the hot paths: hashing, writing objects (new and already stored),
//! placing files per class and link mode, and reading manifests from an index holding one or
//! twenty projects' worth of units. Run with `cargo bench --bench store`.
//!
//! Files live in a temporary directory on the machine's default filesystem (ext4 here, so
//! reflink falls back); set `TMPDIR` to a directory on XFS or Btrfs to measure reflinks.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use cargo_store_cas::{
    FileIdentity, Index, ManifestEntry, NewUnit, ObjectId, ObjectRecord, ObjectSource, PackageKey, Store, hash_file,
};
use cargo_store_fs::{FileClass, FileTimes, LinkRequest, Linker};

fn main() {
    divan::main();
}

/// A scratch directory for the whole run.
fn scratch() -> &'static Path {
    static DIRECTORY: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIRECTORY.get_or_init(|| tempfile::tempdir().expect("temporary directory")).path()
}

/// A file of `size` pseudo-random bytes, written once.
fn file(size: usize) -> PathBuf {
    let path = scratch().join(format!("file-{size}"));
    if !path.exists() {
        let mut state = size as u64 ^ 0x9e37_79b9_7f4a_7c15;
        let bytes: Vec<u8> = (0..size)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                state as u8
            })
            .collect();
        fs::write(&path, bytes).expect("write the file");
    }
    path
}

fn identity(path: &Path) -> FileIdentity {
    FileIdentity::of(&fs::metadata(path).expect("stat"))
}

const SIZES: [usize; 3] = [4 << 10, 1 << 20, 32 << 20];

#[divan::bench(args = SIZES, sample_count = 20)]
fn hash(bencher: divan::Bencher, size: usize) {
    let path = file(size);
    let identity = identity(&path);
    bencher.counter(divan::counter::BytesCount::new(size)).bench(|| hash_file(&path, &identity).expect("hash"));
}

/// Writing a new object (copied and rehashed into the store), and finding one already there.
#[divan::bench(args = [false, true], sample_count = 20)]
fn store_object(bencher: divan::Bencher, present: bool) {
    let source = file(1 << 20);
    let identity = identity(&source);
    let id = ObjectId { hash: *hash_file(&source, &identity).expect("hash").as_bytes(), executable: false };
    let from = ObjectSource { path: &source, identity, hardlink: false, writable: false };
    let root = scratch().join(format!("store-{present}"));
    let store = Store::open(&root, cargo_store_cas::Access::Shared, &mut |_| {}).expect("store");
    let directory = store.directory().clone();
    bencher
        .with_inputs(|| {
            let path = directory.object_path(&id);
            if !present && path.exists() {
                fs::remove_file(&path).expect("remove");
            } else if present && !path.exists() {
                directory.store(id, &from).expect("store");
            }
        })
        .bench_local_values(|()| directory.store(id, &from).expect("store"));
}

/// Placing one 1 MiB file by class, with the default policy and with `--link-mode copy`.
#[divan::bench(args = [
    (FileClass::RustcOutput, LinkRequest::Auto),
    (FileClass::LinkedBinary, LinkRequest::Auto),
    (FileClass::Metadata, LinkRequest::Auto),
    (FileClass::OutDir, LinkRequest::Auto),
    (FileClass::RustcOutput, LinkRequest::Copy),
], sample_count = 20)]
fn place(bencher: divan::Bencher, (class, request): (FileClass, LinkRequest)) {
    let object = file(1 << 20);
    let times = FileTimes::of(&fs::metadata(&object).expect("stat"));
    let directory = scratch().join(format!("place-{class:?}-{request:?}"));
    fs::create_dir_all(&directory).expect("directory");
    let linker = Linker::new(request, false, scratch(), &directory);
    let destination = directory.join("file");
    bencher
        .with_inputs(|| {
            let _ = fs::remove_file(&destination);
        })
        .bench_local_values(|()| linker.place(&object, &destination, class, 0o644, times, true).expect("place"));
}

const UNITS_PER_PROJECT: usize = 250;

/// An index holding `projects` projects of 250 units (10 files each), every project with its
/// own versions of the same 250 package names.
fn index(projects: usize) -> PathBuf {
    let path = scratch().join(format!("index-{projects}.sqlite"));
    if path.exists() {
        return path;
    }
    let mut index = Index::open(&path).expect("open index");
    let transaction = index.transaction().expect("transaction");
    for project in 0..projects {
        for unit in 0..UNITS_PER_PROJECT {
            let files = (0..10)
                .map(|file| {
                    let seed = format!("{project}-{unit}-{file}");
                    let id = ObjectId::of_bytes(seed.as_bytes(), false);
                    transaction
                        .insert_object(&ObjectRecord { id, size: 1000, modified_ns: 0, inode: 0 }, 0)
                        .expect("object");
                    ManifestEntry {
                        path: format!("deps/lib{unit}-{file}.rlib").into_bytes(),
                        object: Some(id),
                        size: 1000,
                        mode: 0o644,
                        modified_ns: 0,
                        class: FileClass::RustcOutput,
                        link_group: None,
                    }
                })
                .collect();
            transaction
                .insert_unit(
                    &NewUnit {
                        key: format!("{project}/{unit}"),
                        toolchain: "rustc".into(),
                        layout: "legacy".into(),
                        place: "debug".into(),
                        name: format!("crate{unit}-{project:016x}"),
                        kind: "lib".into(),
                        fingerprint_name: format!("lib-crate{unit}"),
                        fingerprint: format!("{project:016x}"),
                        package: package(project, unit),
                        bytes: 10_000,
                        files,
                        dependencies: Vec::new(),
                    },
                    0,
                )
                .expect("unit");
        }
    }
    transaction.commit().expect("commit");
    path
}

fn package(project: usize, unit: usize) -> PackageKey {
    PackageKey {
        name: format!("crate{unit}"),
        version: format!("1.{project}.0"),
        source: "registry+https://github.com/rust-lang/crates.io-index".into(),
    }
}

/// What checkout reads: one project's 250 units with their manifests, from a store holding 1
/// or 20 projects.
#[divan::bench(args = [1, 20], sample_count = 20)]
fn read_manifests(bencher: divan::Bencher, projects: usize) {
    let mut index = Index::open(&index(projects)).expect("open index");
    let packages: Vec<PackageKey> = (0..UNITS_PER_PROJECT).map(|unit| package(0, unit)).collect();
    bencher.bench_local(|| {
        let transaction = index.transaction().expect("transaction");
        let units = transaction.units_for_packages("rustc", &packages).expect("units");
        assert_eq!(units.len(), UNITS_PER_PROJECT);
        units
    });
}

/// What a no-op ingest reads: one lookup per unit key, in a store holding 1 or 20 projects.
#[divan::bench(args = [1, 20], sample_count = 20)]
fn look_up_keys(bencher: divan::Bencher, projects: usize) {
    let index = Index::open(&index(projects)).expect("open index");
    let keys: Vec<String> = (0..UNITS_PER_PROJECT).map(|unit| format!("0/{unit}")).collect();
    bencher.bench_local(|| index.unit_ids(keys.iter().map(String::as_str)).expect("lookup"));
}
