//! The contracts that live outside the code, held where review sees them change:
//!
//! - `docs/json-schema.json`, the JSON Schema of every report the binary prints with `--json`,
//!   generated from the report types (`schemars`). A report that gains, loses or retypes a field,
//!   or an enum that gains a value, changes that file; this test fails until it is regenerated,
//!   so the change shows in the diff (as uv does with `uv.schema.json`). To regenerate it:
//!   `INSTA_UPDATE=always cargo test --test it schema::`.
//! - The SQLite schema of a new store's index (every migration applied), as a snapshot: a
//!   migration's effect shows in review as the tables and indexes it changes.

use std::fs;
use std::path::{Path, PathBuf};

use cargo_store_integrations::{hook, timer};
use cargo_store_ops::{
    CheckoutReport, DoctorReport, ExecReport, ForgetReport, GcReport, IngestReport, RepairReport, RootsReport,
    StatusReport, SweepReport, VerifyReport,
};
use schemars::generate::SchemaSettings;

/// Where the schema is kept, from the repository's root.
const SCHEMA_FILE: &str = "docs/json-schema.json";

/// The JSON Schema of the reports: their definitions, and a root that matches any of them,
/// each entry saying which command prints it.
fn json_schema() -> String {
    let mut generator = SchemaSettings::draft2020_12().for_serialize().into_generator();
    let reports = [
        ("cargo store ingest --json", generator.subschema_for::<IngestReport>()),
        ("cargo store checkout --json", generator.subschema_for::<CheckoutReport>()),
        ("cargo store status --json", generator.subschema_for::<StatusReport>()),
        ("cargo store gc --json", generator.subschema_for::<GcReport>()),
        ("cargo store sweep --json", generator.subschema_for::<SweepReport>()),
        ("cargo store roots --json", generator.subschema_for::<RootsReport>()),
        ("cargo store roots forget PATH --json", generator.subschema_for::<ForgetReport>()),
        ("cargo store verify --json", generator.subschema_for::<VerifyReport>()),
        ("cargo store repair --rebuild-index --json", generator.subschema_for::<RepairReport>()),
        ("cargo store doctor --json", generator.subschema_for::<DoctorReport>()),
        ("cargo store exec --json -- COMMAND (the last line of stdout)", generator.subschema_for::<ExecReport>()),
        ("cargo store timer install --json", generator.subschema_for::<timer::InstallReport>()),
        ("cargo store timer uninstall --json", generator.subschema_for::<timer::UninstallReport>()),
        ("cargo store timer status --json", generator.subschema_for::<timer::StatusReport>()),
        ("cargo store hook install --json", generator.subschema_for::<hook::InstallReport>()),
        ("cargo store hook uninstall --json", generator.subschema_for::<hook::UninstallReport>()),
        ("cargo store hook status --json", generator.subschema_for::<hook::StatusReport>()),
    ];
    let any_of: Vec<serde_json::Value> = reports
        .into_iter()
        .map(|(command, schema)| {
            let mut entry = schema.to_value();
            entry["description"] = command.into();
            entry
        })
        .collect();
    let schema = serde_json::json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "cargo-store reports",
        "description": "What each cargo-store command prints on stdout with `--json`: one object with a `version` \
                        field (see docs/json.md). Generated from the report types by the test `schema::json_schema_is_current`.",
        "anyOf": any_of,
        "$defs": generator.take_definitions(true),
    });
    let mut text = serde_json::to_string_pretty(&schema).expect("serialize the schema");
    text.push('\n');
    text
}

/// The repository's root.
fn repository() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Whether insta was asked to write snapshots without asking (`INSTA_UPDATE=always`): the
/// schema file is updated by the same switch.
fn updating() -> bool {
    std::env::var_os("INSTA_UPDATE").is_some_and(|value| value == "always")
}

#[test]
fn json_schema_is_current() {
    let path = repository().join(SCHEMA_FILE);
    let generated = json_schema();
    if updating() {
        fs::write(&path, &generated).unwrap_or_else(|error| panic!("cannot write {}: {error}", path.display()));
        return;
    }
    let committed = fs::read_to_string(&path).unwrap_or_default();
    if committed != generated {
        let diff = similar::TextDiff::from_lines(&committed, &generated)
            .unified_diff()
            .context_radius(3)
            .header(SCHEMA_FILE, "generated")
            .to_string();
        panic!(
            "{SCHEMA_FILE} is not the schema of the reports: a report changed. If that is intended, regenerate it \
             with `INSTA_UPDATE=always cargo test --test it schema::`, review the diff and describe the change in \
             docs/json.md (bump REPORT_VERSION if a field changed meaning or went away)\n{diff}"
        );
    }
}

/// The values of the enum `name` of the reports, as the generated schema lists them.
pub fn enum_values(name: &str) -> Vec<String> {
    let schema: serde_json::Value = serde_json::from_str(&json_schema()).expect("the schema is JSON");
    let definition = &schema["$defs"][name];
    assert!(definition.is_object(), "the schema defines no `{name}`");
    let variants = definition["oneOf"].as_array().cloned().unwrap_or_else(|| vec![definition.clone()]);
    variants
        .iter()
        .flat_map(|variant| {
            let values = variant["enum"].as_array().cloned().unwrap_or_default();
            values.into_iter().chain(variant.get("const").cloned())
        })
        .filter_map(|value| value.as_str().map(str::to_owned))
        .collect()
}

#[test]
fn the_schema_lists_the_values_of_the_enums() {
    // Every reason an ingest may give, `other-toolchain` too (a hand-kept list once forgot it).
    let reasons = enum_values("SkipReason");
    for reason in ["workspace-member", "other-toolchain", "changed-after-build", "depends-on-ineligible"] {
        assert!(reasons.contains(&reason.to_owned()), "{reason}: {reasons:?}");
    }
    assert_eq!(enum_values("RootState"), ["live", "missing", "replaced", "unreadable"]);
    assert_eq!(enum_values("ProblemKind"), ["missing-object", "damaged-object", "missing-manifest", "index"]);
    assert_eq!(enum_values("CheckStatus"), ["ok", "warning", "error"]);
}

/// `SELECT type, name, tbl_name, sql FROM sqlite_master` of the index at `path`, one entry
/// per object, by name, and `PRAGMA user_version`.
fn sqlite_schema(path: &Path) -> String {
    let connection = rusqlite::Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
        .unwrap_or_else(|error| panic!("cannot open {}: {error}", path.display()));
    let version: i64 =
        connection.query_row("PRAGMA user_version", [], |row| row.get(0)).expect("read the schema version");
    let mut statement = connection
        .prepare("SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY name")
        .expect("prepare the schema query");
    let rows: Vec<(String, String, String, Option<String>)> = statement
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?)))
        .and_then(Iterator::collect)
        .expect("read sqlite_master");
    let mut text = format!("PRAGMA user_version = {version};\n");
    for (kind, name, table, sql) in rows {
        text.push_str(&format!("\n-- {kind} {name} (on {table})\n"));
        match sql {
            Some(sql) => text.push_str(&format!("{sql};\n")),
            // SQLite's own indexes of UNIQUE and PRIMARY KEY constraints have no SQL.
            None => text.push_str("-- (created by SQLite for a constraint)\n"),
        }
    }
    text
}

#[test]
fn sqlite_schema_of_a_new_store() {
    let directory = tempfile::tempdir().expect("temporary directory");
    let root = directory.path().join("store");
    let store =
        cargo_store_cas::Store::open(&root, cargo_store_cas::Access::Exclusive, &mut |_| {}).expect("create a store");
    drop(store);
    let schema = sqlite_schema(&root.join("index.sqlite"));
    insta::assert_snapshot!(schema);
}
