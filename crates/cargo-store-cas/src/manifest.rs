//! Manifests on disk: the index can be rebuilt from them.
//!
//! Every stored unit's manifest is also written as a small JSON file, named by the blake3 hash
//! of the unit key (`manifests/ab/cdef….json`), before the index row that makes the unit
//! visible is committed. Together with the object files they hold everything the index knows
//! about units except roots and use times, which the next ingest or checkout of each worktree
//! records again. `cargo store repair --rebuild-index` reads them back
//! ([`rebuild_index`](crate::rebuild_index)).

use std::fs;
use std::io;
use std::path::PathBuf;

use cargo_store_fs::FileClass;
use serde::{Deserialize, Serialize};

use crate::error::Context;
use crate::{Error, ManifestEntry, NewUnit, ObjectId, PackageKey, StoreDirectory};

/// The version of the manifest file format.
const FORMAT: u32 = 1;

#[derive(Serialize, Deserialize)]
struct ManifestFile {
    format: u32,
    key: String,
    toolchain: String,
    layout: String,
    place: String,
    name: String,
    kind: String,
    #[serde(rename = "target")]
    fingerprint_name: String,
    fingerprint: String,
    package: PackageFile,
    bytes: u64,
    files: Vec<FileEntry>,
    dependencies: Vec<String>,
}

#[derive(Serialize, Deserialize)]
struct PackageFile {
    name: String,
    version: String,
    source: String,
}

#[derive(Serialize, Deserialize)]
struct FileEntry {
    /// The path, when it is UTF-8.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    path: Option<String>,
    /// The path's bytes, when it is not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    path_bytes: Option<Vec<u8>>,
    /// `<hex>` or `<hex>.x`; absent for an empty file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    object: Option<String>,
    size: u64,
    mode: u32,
    mtime_ns: i64,
    class: u8,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    link_group: Option<u32>,
}

/// Serializes a unit's manifest.
fn to_json(unit: &NewUnit) -> Vec<u8> {
    let file = ManifestFile {
        format: FORMAT,
        key: unit.key.clone(),
        toolchain: unit.toolchain.clone(),
        layout: unit.layout.clone(),
        place: unit.place.clone(),
        name: unit.name.clone(),
        kind: unit.kind.clone(),
        fingerprint_name: unit.fingerprint_name.clone(),
        fingerprint: unit.fingerprint.clone(),
        package: PackageFile {
            name: unit.package.name.clone(),
            version: unit.package.version.clone(),
            source: unit.package.source.clone(),
        },
        bytes: unit.bytes,
        files: unit
            .files
            .iter()
            .map(|entry| {
                let text = std::str::from_utf8(&entry.path).ok().map(str::to_owned);
                FileEntry {
                    path_bytes: text.is_none().then(|| entry.path.clone()),
                    path: text,
                    object: entry.object.map(|object| object.to_string()),
                    size: entry.size,
                    mode: entry.mode,
                    mtime_ns: entry.modified_ns,
                    class: entry.class.code(),
                    link_group: entry.link_group,
                }
            })
            .collect(),
        dependencies: unit.dependencies.clone(),
    };
    // Serializing plain strings and numbers cannot fail.
    serde_json::to_vec(&file).unwrap_or_default()
}

/// Reads a manifest back; `None` if it is not one this build understands.
fn from_json(bytes: &[u8]) -> Option<NewUnit> {
    let file: ManifestFile = serde_json::from_slice(bytes).ok()?;
    if file.format != FORMAT {
        return None;
    }
    let files = file
        .files
        .into_iter()
        .map(|entry| {
            let path = match (entry.path, entry.path_bytes) {
                (Some(path), _) => path.into_bytes(),
                (None, Some(bytes)) => bytes,
                (None, None) => return None,
            };
            let object = match entry.object {
                Some(name) => Some(parse_object(&name)?),
                None => None,
            };
            Some(ManifestEntry {
                path,
                object,
                size: entry.size,
                mode: entry.mode,
                modified_ns: entry.mtime_ns,
                class: FileClass::from_code(entry.class)?,
                link_group: entry.link_group,
            })
        })
        .collect::<Option<Vec<_>>>()?;
    Some(NewUnit {
        key: file.key,
        toolchain: file.toolchain,
        layout: file.layout,
        place: file.place,
        name: file.name,
        kind: file.kind,
        fingerprint_name: file.fingerprint_name,
        fingerprint: file.fingerprint,
        package: PackageKey { name: file.package.name, version: file.package.version, source: file.package.source },
        bytes: file.bytes,
        files,
        dependencies: file.dependencies,
    })
}

impl NewUnit {
    /// The manifest as stored on disk (and in a remote): JSON, with the format version.
    pub fn to_json(&self) -> Vec<u8> {
        to_json(self)
    }

    /// A manifest read back; `None` if it is not one this build understands.
    pub fn from_json(bytes: &[u8]) -> Option<NewUnit> {
        from_json(bytes)
    }
}

/// `<64 hex>` or `<64 hex>.x`.
fn parse_object(name: &str) -> Option<ObjectId> {
    let (hex, executable) = match name.strip_suffix(".x") {
        Some(hex) => (hex, true),
        None => (name, false),
    };
    let hash = blake3::Hash::from_hex(hex).ok()?;
    Some(ObjectId { hash: *hash.as_bytes(), executable })
}

/// Writes the manifest of `unit` into the store, replacing a previous one. Called only by the
/// transaction that inserts the unit's row, so the file matches that row.
pub(crate) fn write(directory: &StoreDirectory, unit: &NewUnit) -> crate::Result<()> {
    let path = directory.manifest_path(&unit.key);
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).context("create directory", parent)?;
    }
    let temporary = directory.temporary("manifest");
    fs::write(&temporary, to_json(unit)).context("write", &temporary)?;
    // Replace whatever is there: a manifest left by an ingest that died before its commit may
    // describe another build of the same unit than the row about to be committed.
    fs::rename(&temporary, &path).context("rename into", &path)
}

/// Every manifest in the store that can be read, and the files that could not.
pub(crate) fn read_all(directory: &StoreDirectory) -> crate::Result<(Vec<NewUnit>, Vec<PathBuf>)> {
    let mut units = Vec::new();
    let mut unreadable = Vec::new();
    for path in directory.manifest_files()? {
        match fs::read(&path).ok().and_then(|bytes| from_json(&bytes)) {
            Some(unit) if path == directory.manifest_path(&unit.key) => units.push(unit),
            _ => unreadable.push(path),
        }
    }
    Ok((units, unreadable))
}

/// Removes the manifest of the unit `key`; a missing one is not an error.
pub(crate) fn remove(directory: &StoreDirectory, key: &str) -> crate::Result<()> {
    let path = directory.manifest_path(key);
    match fs::remove_file(&path) {
        Ok(()) => Ok(()),
        Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(error) => Err(Error::io("delete", path, error)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_manifest_survives_a_round_trip_with_a_non_utf8_path() {
        let unit = NewUnit {
            key: "1|legacy|debug|a-0123456789abcdef|lib-a|0123456789abcdef|rustc".into(),
            toolchain: "rustc".into(),
            layout: "legacy".into(),
            place: "debug".into(),
            name: "a-0123456789abcdef".into(),
            kind: "lib".into(),
            fingerprint_name: "lib-a".into(),
            fingerprint: "0123456789abcdef".into(),
            package: PackageKey { name: "a".into(), version: "1.0.0".into(), source: "registry+x".into() },
            bytes: 3,
            files: vec![
                ManifestEntry {
                    path: b"build/a/out/caf\xe9.bin".to_vec(),
                    object: Some(ObjectId::of_bytes(b"abc", true)),
                    size: 3,
                    mode: 0o755,
                    modified_ns: -5,
                    class: FileClass::OutDir,
                    link_group: Some(2),
                },
                ManifestEntry {
                    path: b"deps/empty".to_vec(),
                    object: None,
                    size: 0,
                    mode: 0o644,
                    modified_ns: 7,
                    class: FileClass::Metadata,
                    link_group: None,
                },
            ],
            dependencies: vec!["other".into()],
        };
        let back = from_json(&to_json(&unit)).expect("read back");
        assert_eq!(back.files[0].path, unit.files[0].path);
        assert_eq!(back.files[0].object, unit.files[0].object);
        assert_eq!(back.files[0].link_group, Some(2));
        assert_eq!(back.files[1].object, None);
        assert_eq!((back.key, back.dependencies), (unit.key, unit.dependencies));
        assert!(from_json(b"{}").is_none());
    }
}
