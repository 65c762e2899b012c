//! Reuse across projects: a brand-new project, in a repository of its own, gets every stored
//! unit whose build matches its own (same version, features, flags, profile) from the units
//! another project stored, and cargo rebuilds only the others; after that build,
//! `checkout --explain` names for each unit it rebuilt how it differs from the stored builds.

use std::path::Path;

use crate::fixture::{Build, BuildMode, Fixture};
use crate::support::run_json;

/// A project using `feat` (with `@FEAT@` as its dependency's options), `mid` (on `leaf`), `pm`
/// and `native`.
const MANIFEST: &str = "[package]\nname = \"user\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n\
                        [dependencies]\nfeat = { version = \"1.0.0\"@FEAT@ }\nmid = \"1.0.0\"\n\
                        pm = \"1.0.0\"\nnative = \"1.0.0\"\n";

const MAIN: &str = "fn main() {\n    \
                    println!(\"{}\", feat::feat() + mid::mid() + pm::answer!() + native::native());\n}\n";

/// The registry packages of a project of [`MANIFEST`].
const DEPENDENCIES: [&str; 5] = ["feat", "leaf", "mid", "native", "pm"];

fn project(fixture: &Fixture, name: &str, feat: &str) -> std::path::PathBuf {
    fixture.add_project_with(name, &MANIFEST.replace("@FEAT@", feat), MAIN)
}

/// The names of the dependency packages cargo compiled (not fresh) in `build`.
fn recompiled(build: &Build) -> Vec<String> {
    let mut names: Vec<String> = build.recompiled_dependencies().iter().map(|unit| unit.package().to_owned()).collect();
    names.sort();
    names.dedup();
    names
}

/// `checkout --dry-run --explain --json` in `worktree`: the explanation of each package by name.
fn explanations(fixture: &Fixture, worktree: &Path) -> serde_json::Value {
    let report: serde_json::Value = run_json(
        fixture
            .cargo_store()
            .args(["checkout", "--dry-run", "--explain", "--json", "--manifest-path"])
            .arg(worktree.join("Cargo.toml")),
    );
    let mut by_name = serde_json::Map::new();
    for explanation in report["explanations"].as_array().expect("explanations") {
        let package = explanation["package"].as_str().expect("a package");
        let name = package.split_once(' ').map_or(package, |(name, _)| name);
        by_name.insert(name.to_owned(), explanation.clone());
    }
    serde_json::Value::Object(by_name)
}

/// The kinds of the differences of every miss of `package`.
fn difference_kinds(explained: &serde_json::Value, package: &str) -> Vec<String> {
    let mut kinds: Vec<String> = explained[package]["misses"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|miss| miss["differences"].as_array().cloned().unwrap_or_default())
        .filter_map(|difference| difference["kind"].as_str().map(str::to_owned))
        .collect();
    kinds.sort();
    kinds.dedup();
    kinds
}

#[test]
fn a_new_project_reuses_the_builds_that_match_and_explain_names_each_miss() {
    let fixture = Fixture::new();
    let stored = project(&fixture, "stored", ", features = [\"fast\"]");
    fixture.build(&stored, BuildMode::LEGACY_DEV);
    fixture.ingest(&stored);

    // The same crates, `feat` without its feature: everything but `feat` is a hit.
    let plain = project(&fixture, "plain", "");
    let report = fixture.checkout(&plain, &[]);
    assert!(report.units_placed > 0, "{report:#?}");
    let build = fixture.build(&plain, BuildMode::LEGACY_DEV);
    assert_eq!(recompiled(&build), ["feat"], "{}", build.stderr);
    assert_eq!(build.run_binary("user"), 1 + 11 + 42 + 7);
    let explained = explanations(&fixture, &plain);
    assert_eq!(explained["feat"]["verdict"], "other-features", "{explained:#}");
    let detail = explained["feat"]["detail"].as_str().expect("a detail");
    assert!(detail.contains(r#"[] here, ["fast"] stored"#), "{detail}");
    assert_eq!(explained["feat"]["misses"][0]["fingerprint_name"], "lib-feat", "{explained:#}");
    for hit in ["leaf", "mid", "native", "pm"] {
        assert_eq!(explained[hit]["verdict"], "present", "{hit}: {explained:#}");
        assert!(explained[hit].get("misses").is_none(), "{hit}: {explained:#}");
    }

    // Other RUSTFLAGS: every unit is rebuilt, each for its flags (and, above the leaves,
    // for the other builds of its dependencies).
    let flagged = project(&fixture, "flagged", ", features = [\"fast\"]");
    fixture.checkout(&flagged, &[]);
    let mut command = fixture.build_command(&flagged, BuildMode::LEGACY_DEV);
    let build = Build::run(command.env("RUSTFLAGS", "--cfg=reuse_flags"));
    assert_eq!(recompiled(&build), DEPENDENCIES, "{}", build.stderr);
    let explained = explanations(&fixture, &flagged);
    for package in DEPENDENCIES {
        assert_eq!(explained[package]["verdict"], "other-flags", "{package}: {explained:#}");
    }
    assert_eq!(difference_kinds(&explained, "leaf"), ["other-flags"], "{explained:#}");
    assert_eq!(difference_kinds(&explained, "mid"), ["other-dependency-builds", "other-flags"], "{explained:#}");
    let detail = explained["leaf"]["detail"].as_str().expect("a detail");
    assert!(detail.contains("--cfg=reuse_flags here, none stored"), "{detail}");

    // Another value of a variable a build script watches: only that package is rebuilt.
    let flavoured = project(&fixture, "flavoured", ", features = [\"fast\"]");
    fixture.checkout(&flavoured, &[]);
    let mut command = fixture.build_command(&flavoured, BuildMode::LEGACY_DEV);
    let build = Build::run(command.env("NATIVE_FLAVOR", "other"));
    assert_eq!(recompiled(&build), ["native"], "{}", build.stderr);
    let explained = explanations(&fixture, &flavoured);
    assert_eq!(explained["native"]["verdict"], "other-environment", "{explained:#}");
    assert_eq!(
        difference_kinds(&explained, "native"),
        ["other-dependency-builds", "other-environment"],
        "{explained:#}"
    );
    let detail = explained["native"]["detail"].as_str().expect("a detail");
    assert!(detail.contains("NATIVE_FLAVOR"), "{detail}");
    assert_eq!(explained["feat"]["verdict"], "present", "{explained:#}");
}

/// A package stored only in another version is named as such, with the versions there are.
#[test]
fn explain_names_the_stored_versions_of_a_package_locked_at_another() {
    let fixture = Fixture::new();
    let older = fixture.add_project("older", "1.0.0");
    fixture.build(&older, BuildMode::LEGACY_DEV);
    fixture.ingest(&older);
    let newer = fixture.add_project("newer", "1.0.1");
    let explained = explanations(&fixture, &newer);
    assert_eq!(explained["extra"]["verdict"], "other-versions", "{explained:#}");
    let detail = explained["extra"]["detail"].as_str().expect("a detail");
    assert!(detail.contains("uses v1.0.1; the store has v1.0.0 (1 unit)"), "{detail}");
    assert_eq!(explained["top"]["verdict"], "other-dependency-versions", "{explained:#}");
    for shared in ["leaf", "mid", "native", "pm"] {
        assert_eq!(explained[shared]["verdict"], "placed", "{shared}: {explained:#}");
    }
}
