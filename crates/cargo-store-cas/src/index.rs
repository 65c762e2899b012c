//! The SQLite index: objects, unit manifests, the dependency graph between units, and roots.
//!
//! Every query is a `prepare_cached` statement, every command commits once, and writes happen
//! in `IMMEDIATE` transactions so that concurrent commands queue on SQLite's `busy_timeout`
//! instead of failing on a lock upgrade.

use std::collections::HashMap;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use cargo_store_fs::FileClass;
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use crate::{Error, ObjectId};

/// The migrations, in order; the index's `user_version` is how many have run.
const MIGRATIONS: &[&str] = &[
    include_str!("../../../migrations/0001_initial.sql"),
    include_str!("../../../migrations/0002_current_units.sql"),
    include_str!("../../../migrations/0003_fingerprint_name.sql"),
];

/// An object as the index knows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ObjectRecord {
    /// Its identity.
    pub id: ObjectId,
    /// Size of the object file.
    pub size: u64,
    /// Modification time of the object file, ns.
    pub modified_ns: i64,
    /// Inode of the object file.
    pub inode: u64,
}

/// One file of a unit to be stored.
#[derive(Debug, Clone)]
pub struct ManifestEntry {
    /// The path relative to the unit's place, as raw bytes.
    pub path: Vec<u8>,
    /// The object holding its bytes; `None` for an empty file.
    pub object: Option<ObjectId>,
    /// Size in bytes.
    pub size: u64,
    /// Permission bits.
    pub mode: u32,
    /// Modification time, ns.
    pub modified_ns: i64,
    /// What the file is.
    pub class: FileClass,
    /// Files of the unit sharing a number were one inode.
    pub link_group: Option<u32>,
}

/// A package as units are filed under it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PackageKey {
    /// Name.
    pub name: String,
    /// Version.
    pub version: String,
    /// Source (registry or git).
    pub source: String,
}

/// A unit to be stored.
#[derive(Debug, Clone)]
pub struct NewUnit {
    /// The full unit key.
    pub key: String,
    /// The toolchain namespace.
    pub toolchain: String,
    /// `legacy` or `per-unit`.
    pub layout: String,
    /// The place, e.g. `debug`.
    pub place: String,
    /// `<pkg>-<hash>`.
    pub name: String,
    /// `lib`, `proc-macro`, `build-script`, `build-script-run`.
    pub kind: String,
    /// The fingerprint hash file name.
    pub fingerprint_name: String,
    /// The fingerprint hex.
    pub fingerprint: String,
    /// The package it was built from.
    pub package: PackageKey,
    /// Total size of its files.
    pub bytes: u64,
    /// Its files.
    pub files: Vec<ManifestEntry>,
    /// The keys of its direct dependencies (already stored or stored in the same transaction
    /// before it).
    pub dependencies: Vec<String>,
}

/// A file of a stored unit.
#[derive(Debug, Clone)]
pub struct StoredFile {
    /// The path relative to the unit's place, as raw bytes.
    pub path: Vec<u8>,
    /// The object; `None` for an empty file.
    pub object: Option<ObjectRecord>,
    /// Size in bytes.
    pub size: u64,
    /// Permission bits.
    pub mode: u32,
    /// Modification time, ns.
    pub modified_ns: i64,
    /// What the file is.
    pub class: FileClass,
    /// Files sharing a number are hard links to each other.
    pub link_group: Option<u32>,
}

impl StoredFile {
    /// The path as a `Path`.
    pub fn path(&self) -> &Path {
        Path::new(std::ffi::OsStr::from_bytes(&self.path))
    }
}

/// A stored unit with its manifest.
#[derive(Debug, Clone)]
pub struct StoredUnit {
    /// Row id.
    pub id: i64,
    /// Full key.
    pub key: String,
    /// The toolchain namespace.
    pub toolchain: String,
    /// `legacy` or `per-unit`.
    pub layout: String,
    /// The place.
    pub place: String,
    /// `<pkg>-<hash>`.
    pub name: String,
    /// Kind name.
    pub kind: String,
    /// The fingerprint hash file name, e.g. `lib-serde`.
    pub fingerprint_name: String,
    /// The fingerprint hex the hash file holds.
    pub fingerprint: String,
    /// The package.
    pub package: PackageKey,
    /// Total bytes.
    pub bytes: u64,
    /// When it was last ingested or checked out, seconds.
    pub last_used: i64,
    /// Row ids of its direct dependencies.
    pub dependencies: Vec<i64>,
    /// Its files.
    pub files: Vec<StoredFile>,
}

impl StoredUnit {
    /// The unit as a manifest to store elsewhere (another store, a remote), its dependencies
    /// named by their keys in `keys` (row id to key; see [`Index::unit_keys`]). `None` when a
    /// dependency's key is not in `keys`, or an object of a non-empty file is unknown.
    pub fn manifest(&self, keys: &HashMap<i64, String>) -> Option<NewUnit> {
        let dependencies = self.dependencies.iter().map(|id| keys.get(id).cloned()).collect::<Option<Vec<_>>>()?;
        let files = self
            .files
            .iter()
            .map(|file| {
                let object = file.object.map(|record| record.id);
                if object.is_none() && file.size != 0 {
                    return None;
                }
                Some(ManifestEntry {
                    path: file.path.clone(),
                    object,
                    size: file.size,
                    mode: file.mode,
                    modified_ns: file.modified_ns,
                    class: file.class,
                    link_group: file.link_group,
                })
            })
            .collect::<Option<Vec<_>>>()?;
        Some(NewUnit {
            key: self.key.clone(),
            toolchain: self.toolchain.clone(),
            layout: self.layout.clone(),
            place: self.place.clone(),
            name: self.name.clone(),
            kind: self.kind.clone(),
            fingerprint_name: self.fingerprint_name.clone(),
            fingerprint: self.fingerprint.clone(),
            package: self.package.clone(),
            bytes: self.bytes,
            files,
            dependencies,
        })
    }
}

/// Counts for `status`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Totals {
    /// Objects.
    pub objects: u64,
    /// Units.
    pub units: u64,
    /// Roots.
    pub roots: u64,
    /// Sum of object sizes.
    pub object_bytes: u64,
}

/// The open index.
pub struct Index {
    pub(crate) connection: Connection,
    pub(crate) path: PathBuf,
}

pub(crate) fn sql_error(path: &Path) -> impl Fn(rusqlite::Error) -> Error + '_ {
    move |source| match source.sqlite_error_code() {
        Some(rusqlite::ErrorCode::DiskFull) => Error::Full { path: path.to_path_buf() },
        Some(rusqlite::ErrorCode::ReadOnly) => Error::ReadOnly { path: path.to_path_buf() },
        _ => Error::Index { path: path.to_path_buf(), error: source },
    }
}

pub(crate) fn to_i64(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

pub(crate) fn to_u64(value: i64) -> u64 {
    u64::try_from(value).unwrap_or(0)
}

impl Index {
    /// Opens (creating and migrating as needed) the index at `path`.
    pub fn open(path: &Path) -> crate::Result<Index> {
        let error = sql_error(path);
        let mut connection = Connection::open(path).map_err(&error)?;
        connection.busy_timeout(Duration::from_secs(60)).map_err(&error)?;
        connection
            .execute_batch("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;")
            .map_err(&error)?;
        migrate(&mut connection, path)?;
        Ok(Index { connection, path: path.to_path_buf() })
    }

    /// The row ids of the units among `keys` that are stored.
    pub fn unit_ids<'k>(&self, keys: impl IntoIterator<Item = &'k str>) -> crate::Result<HashMap<String, i64>> {
        let error = sql_error(&self.path);
        let mut statement = self.connection.prepare_cached("SELECT id FROM units WHERE key = ?1").map_err(&error)?;
        let mut found = HashMap::new();
        for key in keys {
            if let Some(id) = statement.query_row([key], |row| row.get(0)).optional().map_err(&error)? {
                found.insert(key.to_owned(), id);
            }
        }
        Ok(found)
    }

    /// The records of the objects among `ids` that are stored.
    pub fn objects<'i>(
        &self,
        ids: impl IntoIterator<Item = &'i ObjectId>,
    ) -> crate::Result<HashMap<ObjectId, ObjectRecord>> {
        let error = sql_error(&self.path);
        let mut statement = self
            .connection
            .prepare_cached("SELECT size, mtime_ns, inode FROM objects WHERE hash = ?1 AND executable = ?2")
            .map_err(&error)?;
        let mut found = HashMap::new();
        for id in ids {
            let record = statement
                .query_row(params![&id.hash[..], id.executable], |row| {
                    Ok(ObjectRecord {
                        id: *id,
                        size: to_u64(row.get(0)?),
                        modified_ns: row.get(1)?,
                        inode: to_u64(row.get(2)?),
                    })
                })
                .optional()
                .map_err(&error)?;
            if let Some(record) = record {
                found.insert(*id, record);
            }
        }
        Ok(found)
    }

    /// The stored units with the row ids `ids`, with their manifests and dependencies, in
    /// that order; ids that are not stored are left out.
    pub fn units(&self, ids: &[i64]) -> crate::Result<Vec<StoredUnit>> {
        read_units(&self.connection, &self.path, ids)
    }

    /// The row ids of every stored unit, oldest first.
    pub fn all_unit_ids(&self) -> crate::Result<Vec<i64>> {
        let error = sql_error(&self.path);
        let mut statement = self.connection.prepare_cached("SELECT id FROM units ORDER BY id").map_err(&error)?;
        let rows = statement.query_map([], |row| row.get(0)).map_err(&error)?;
        rows.collect::<Result<_, _>>().map_err(&error)
    }

    /// The keys of the stored units among `ids`.
    pub fn unit_keys(&self, ids: impl IntoIterator<Item = i64>) -> crate::Result<HashMap<i64, String>> {
        let error = sql_error(&self.path);
        let mut statement = self.connection.prepare_cached("SELECT key FROM units WHERE id = ?1").map_err(&error)?;
        let mut found = HashMap::new();
        for id in ids {
            if let Some(key) = statement.query_row([id], |row| row.get(0)).optional().map_err(&error)? {
                found.insert(id, key);
            }
        }
        Ok(found)
    }

    /// Every root that is not known to be missing, with the workspace it was last used from
    /// (roots registered before workspaces were recorded have none), of `repository` only
    /// when given.
    pub fn root_workspaces(&self, repository: Option<&Path>) -> crate::Result<Vec<(PathBuf, PathBuf)>> {
        let error = sql_error(&self.path);
        let mut statement = self
            .connection
            .prepare_cached(
                "SELECT path, workspace FROM roots WHERE missing_since IS NULL AND workspace IS NOT NULL
                 AND (?1 IS NULL OR repository = ?1) ORDER BY path",
            )
            .map_err(&error)?;
        let rows = statement
            .query_map(params![repository.map(|path| path.as_os_str().as_bytes())], |row| {
                let path: Vec<u8> = row.get(0)?;
                let workspace: Vec<u8> = row.get(1)?;
                Ok((
                    PathBuf::from(std::ffi::OsStr::from_bytes(&path)),
                    PathBuf::from(std::ffi::OsStr::from_bytes(&workspace)),
                ))
            })
            .map_err(&error)?;
        rows.collect::<Result<_, _>>().map_err(&error)
    }

    /// Counts of objects, units and roots, and the bytes of all objects.
    pub fn totals(&self) -> crate::Result<Totals> {
        let error = sql_error(&self.path);
        let count =
            |sql: &str| -> crate::Result<i64> { self.connection.query_row(sql, [], |row| row.get(0)).map_err(&error) };
        Ok(Totals {
            objects: to_u64(count("SELECT count(*) FROM objects")?),
            units: to_u64(count("SELECT count(*) FROM units")?),
            roots: to_u64(count("SELECT count(*) FROM roots")?),
            object_bytes: to_u64(count("SELECT coalesce(sum(size), 0) FROM objects")?),
        })
    }

    /// Starts the one write transaction of a command.
    pub fn transaction(&mut self) -> crate::Result<IndexTransaction<'_>> {
        let error = sql_error(&self.path);
        let transaction = self.connection.transaction_with_behavior(TransactionBehavior::Immediate).map_err(&error)?;
        Ok(IndexTransaction { transaction, path: &self.path })
    }
}

/// The units `ids` with their files and dependencies, in the order of `ids`.
pub(crate) fn read_units(connection: &Connection, path: &Path, ids: &[i64]) -> crate::Result<Vec<StoredUnit>> {
    let error = sql_error(path);
    let mut select_unit = connection
        .prepare_cached(
            "SELECT id, key, layout, place, name, kind, fingerprint_name, fingerprint, package_name, package_version,
                    package_source, bytes, last_used, toolchain
             FROM units WHERE id = ?1",
        )
        .map_err(&error)?;
    let mut select_files = connection
        .prepare_cached(
            "SELECT f.path, f.size, f.mode, f.mtime_ns, f.class, f.link_group,
                    o.hash, o.executable, o.size, o.mtime_ns, o.inode
             FROM unit_files f LEFT JOIN objects o ON o.id = f.object_id
             WHERE f.unit_id = ?1",
        )
        .map_err(&error)?;
    let mut select_dependencies =
        connection.prepare_cached("SELECT dependency_id FROM unit_dependencies WHERE unit_id = ?1").map_err(&error)?;
    let mut units = Vec::with_capacity(ids.len());
    for &id in ids {
        let unit = select_unit
            .query_row([id], |row| {
                Ok(StoredUnit {
                    id: row.get(0)?,
                    key: row.get(1)?,
                    layout: row.get(2)?,
                    place: row.get(3)?,
                    name: row.get(4)?,
                    kind: row.get(5)?,
                    fingerprint_name: row.get(6)?,
                    fingerprint: row.get(7)?,
                    package: PackageKey { name: row.get(8)?, version: row.get(9)?, source: row.get(10)? },
                    bytes: to_u64(row.get(11)?),
                    last_used: row.get(12)?,
                    toolchain: row.get(13)?,
                    dependencies: Vec::new(),
                    files: Vec::new(),
                })
            })
            .optional()
            .map_err(&error)?;
        let Some(mut unit) = unit else { continue };
        unit.files = select_files
            .query_map([unit.id], |row| {
                let hash: Option<Vec<u8>> = row.get(6)?;
                let object = match hash.and_then(|hash| <[u8; 32]>::try_from(hash).ok()) {
                    Some(hash) => Some(ObjectRecord {
                        id: ObjectId { hash, executable: row.get(7)? },
                        size: to_u64(row.get(8)?),
                        modified_ns: row.get(9)?,
                        inode: to_u64(row.get(10)?),
                    }),
                    None => None,
                };
                Ok(StoredFile {
                    path: row.get(0)?,
                    size: to_u64(row.get(1)?),
                    mode: row.get(2)?,
                    modified_ns: row.get(3)?,
                    class: FileClass::from_code(row.get(4)?).unwrap_or(FileClass::Metadata),
                    link_group: row.get(5)?,
                    object,
                })
            })
            .map_err(&error)?
            .collect::<Result<_, _>>()
            .map_err(&error)?;
        unit.dependencies = select_dependencies
            .query_map([unit.id], |row| row.get(0))
            .map_err(&error)?
            .collect::<Result<_, _>>()
            .map_err(&error)?;
        units.push(unit);
    }
    Ok(units)
}

/// The schema version recorded in the index file at `path`, if it can be read at all.
pub(crate) fn recorded_version(path: &Path) -> Option<i64> {
    let connection = Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY).ok()?;
    connection.query_row("PRAGMA user_version", [], |row| row.get(0)).ok()
}

/// The schema version this build writes.
pub(crate) fn supported_version() -> i64 {
    i64::try_from(MIGRATIONS.len()).unwrap_or(i64::MAX)
}

/// Applies the migrations the index has not seen, in one exclusive transaction.
fn migrate(connection: &mut Connection, path: &Path) -> crate::Result<()> {
    let error = sql_error(path);
    let transaction = connection.transaction_with_behavior(TransactionBehavior::Exclusive).map_err(&error)?;
    let version: i64 = transaction.query_row("PRAGMA user_version", [], |row| row.get(0)).map_err(&error)?;
    let supported = i64::try_from(MIGRATIONS.len()).unwrap_or(i64::MAX);
    if version > supported {
        return Err(Error::NewerSchema { path: path.to_path_buf(), found: version, supported });
    }
    for migration in &MIGRATIONS[usize::try_from(version).unwrap_or(0)..] {
        transaction.execute_batch(migration).map_err(&error)?;
    }
    transaction.pragma_update(None, "user_version", supported).map_err(&error)?;
    transaction.commit().map_err(&error)
}

/// The write transaction of one command.
pub struct IndexTransaction<'a> {
    pub(crate) transaction: rusqlite::Transaction<'a>,
    pub(crate) path: &'a Path,
}

impl IndexTransaction<'_> {
    pub(crate) fn error(&self) -> impl Fn(rusqlite::Error) -> Error + '_ {
        sql_error(self.path)
    }

    /// Records an object (if it is not recorded yet) and returns its row id.
    pub fn insert_object(&self, record: &ObjectRecord, now: i64) -> crate::Result<i64> {
        let error = self.error();
        self.transaction
            .prepare_cached(
                "INSERT INTO objects (hash, executable, size, mtime_ns, inode, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (hash, executable) DO NOTHING",
            )
            .map_err(&error)?
            .execute(params![
                &record.id.hash[..],
                record.id.executable,
                to_i64(record.size),
                record.modified_ns,
                to_i64(record.inode),
                now
            ])
            .map_err(&error)?;
        self.transaction
            .prepare_cached("SELECT id FROM objects WHERE hash = ?1 AND executable = ?2")
            .map_err(&error)?
            .query_row(params![&record.id.hash[..], record.id.executable], |row| row.get(0))
            .map_err(&error)
    }

    /// The row id of the unit `key`, if it is stored (seen from this transaction).
    pub fn unit_id(&self, key: &str) -> crate::Result<Option<i64>> {
        let error = self.error();
        self.transaction
            .prepare_cached("SELECT id FROM units WHERE key = ?1")
            .map_err(&error)?
            .query_row([key], |row| row.get(0))
            .optional()
            .map_err(&error)
    }

    /// Stores a unit with its manifest and dependencies; returns its row id (the existing one
    /// if a concurrent command stored the same key first). Every object of the manifest must
    /// have been inserted in this transaction or before.
    pub fn insert_unit(&self, unit: &NewUnit, now: i64) -> crate::Result<i64> {
        let error = self.error();
        if let Some(id) = self
            .transaction
            .prepare_cached("SELECT id FROM units WHERE key = ?1")
            .map_err(&error)?
            .query_row([&unit.key], |row| row.get::<_, i64>(0))
            .optional()
            .map_err(&error)?
        {
            return Ok(id);
        }
        self.transaction
            .prepare_cached(
                "INSERT INTO units (key, toolchain, layout, place, name, kind, fingerprint_name, fingerprint,
                    package_name, package_version, package_source, bytes, created_at, last_used)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?13)",
            )
            .map_err(&error)?
            .execute(params![
                unit.key,
                unit.toolchain,
                unit.layout,
                unit.place,
                unit.name,
                unit.kind,
                unit.fingerprint_name,
                unit.fingerprint,
                unit.package.name,
                unit.package.version,
                unit.package.source,
                to_i64(unit.bytes),
                now
            ])
            .map_err(&error)?;
        let unit_id = self.transaction.last_insert_rowid();
        let mut object_id = self
            .transaction
            .prepare_cached("SELECT id FROM objects WHERE hash = ?1 AND executable = ?2")
            .map_err(&error)?;
        let mut insert_file = self
            .transaction
            .prepare_cached(
                "INSERT INTO unit_files (unit_id, path, object_id, size, mode, mtime_ns, class, link_group)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            )
            .map_err(&error)?;
        for file in &unit.files {
            let object: Option<i64> = match &file.object {
                Some(id) => {
                    Some(object_id.query_row(params![&id.hash[..], id.executable], |row| row.get(0)).map_err(&error)?)
                }
                None => None,
            };
            insert_file
                .execute(params![
                    unit_id,
                    file.path,
                    object,
                    to_i64(file.size),
                    file.mode,
                    file.modified_ns,
                    file.class.code(),
                    file.link_group
                ])
                .map_err(&error)?;
        }
        let mut dependency = self
            .transaction
            .prepare_cached(
                "INSERT OR IGNORE INTO unit_dependencies (unit_id, dependency_id)
                 SELECT ?1, id FROM units WHERE key = ?2",
            )
            .map_err(&error)?;
        // A unit may depend on one unit twice (a dependency renamed twice): one edge.
        let keys: std::collections::BTreeSet<&String> = unit.dependencies.iter().collect();
        for key in keys {
            if dependency.execute(params![unit_id, key]).map_err(&error)? == 0 {
                // A dependency that is not stored would make this unit unusable: refuse.
                return Err(Error::MissingDependency { unit: unit.key.clone(), dependency: key.clone() });
            }
        }
        Ok(unit_id)
    }

    /// Registers (or refreshes) the root at `path` and returns its row id. A root whose
    /// directory was replaced (another inode) starts over with no units.
    pub fn register_root(&self, path: &Path, device: u64, inode: u64, now: i64) -> crate::Result<i64> {
        let error = self.error();
        let bytes = path.as_os_str().as_bytes();
        let existing: Option<(i64, i64, i64)> = self
            .transaction
            .prepare_cached("SELECT id, device, inode FROM roots WHERE path = ?1")
            .map_err(&error)?
            .query_row([bytes], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))
            .optional()
            .map_err(&error)?;
        match existing {
            Some((id, old_device, old_inode)) => {
                if (old_device, old_inode) != (to_i64(device), to_i64(inode)) {
                    self.transaction
                        .prepare_cached("DELETE FROM root_units WHERE root_id = ?1")
                        .map_err(&error)?
                        .execute([id])
                        .map_err(&error)?;
                }
                self.transaction
                    .prepare_cached(
                        "UPDATE roots SET device = ?2, inode = ?3, last_used = ?4, missing_since = NULL WHERE id = ?1",
                    )
                    .map_err(&error)?
                    .execute(params![id, to_i64(device), to_i64(inode), now])
                    .map_err(&error)?;
                Ok(id)
            }
            None => {
                self.transaction
                    .prepare_cached(
                        "INSERT INTO roots (path, device, inode, created_at, last_used) VALUES (?1, ?2, ?3, ?4, ?4)",
                    )
                    .map_err(&error)?
                    .execute(params![bytes, to_i64(device), to_i64(inode), now])
                    .map_err(&error)?;
                Ok(self.transaction.last_insert_rowid())
            }
        }
    }

    /// Records the digest of the root's build inputs, and which of its units (all referenced
    /// by it) its current builds use; the others it holds are not current any more.
    pub fn set_current(&self, root: i64, build_inputs: &str, units: &[i64]) -> crate::Result<()> {
        let error = self.error();
        self.transaction
            .prepare_cached("UPDATE roots SET build_inputs = ?2 WHERE id = ?1")
            .map_err(&error)?
            .execute(params![root, build_inputs])
            .map_err(&error)?;
        self.transaction
            .prepare_cached("UPDATE root_units SET current = 0 WHERE root_id = ?1")
            .map_err(&error)?
            .execute([root])
            .map_err(&error)?;
        let mut mark = self
            .transaction
            .prepare_cached("UPDATE root_units SET current = 1 WHERE root_id = ?1 AND unit_id = ?2")
            .map_err(&error)?;
        for unit in units {
            mark.execute(params![root, unit]).map_err(&error)?;
        }
        Ok(())
    }

    /// Records the workspace (its root directory) that the root is the build directory of, and
    /// the repository the workspace belongs to.
    pub fn set_workspace(&self, root: i64, workspace: &Path, repository: Option<&Path>) -> crate::Result<()> {
        let error = self.error();
        self.transaction
            .prepare_cached("UPDATE roots SET workspace = ?2, repository = ?3 WHERE id = ?1")
            .map_err(&error)?
            .execute(params![
                root,
                workspace.as_os_str().as_bytes(),
                repository.map(|path| path.as_os_str().as_bytes())
            ])
            .map_err(&error)?;
        Ok(())
    }

    /// The units that the current builds of the roots of `repository` with the build inputs
    /// `build_inputs` use.
    pub fn current_units(
        &self,
        repository: &Path,
        build_inputs: &str,
    ) -> crate::Result<std::collections::HashSet<i64>> {
        let error = self.error();
        let mut statement = self
            .transaction
            .prepare_cached(
                "SELECT DISTINCT u.unit_id FROM root_units u JOIN roots r ON r.id = u.root_id
                 WHERE r.repository = ?1 AND r.build_inputs = ?2 AND u.current = 1",
            )
            .map_err(&error)?;
        let rows = statement
            .query_map(params![repository.as_os_str().as_bytes(), build_inputs], |row| row.get(0))
            .map_err(&error)?;
        rows.collect::<Result<_, _>>().map_err(&error)
    }

    /// Records that the root holds the units, and marks the units used now.
    pub fn reference(&self, root: i64, units: &[i64], now: i64) -> crate::Result<()> {
        let error = self.error();
        let mut reference = self
            .transaction
            .prepare_cached("INSERT OR IGNORE INTO root_units (root_id, unit_id) VALUES (?1, ?2)")
            .map_err(&error)?;
        let mut touch =
            self.transaction.prepare_cached("UPDATE units SET last_used = ?2 WHERE id = ?1").map_err(&error)?;
        for &unit in units {
            reference.execute(params![root, unit]).map_err(&error)?;
            touch.execute(params![unit, now]).map_err(&error)?;
        }
        Ok(())
    }

    /// Every stored unit of the toolchain `toolchain` built from one of `packages`, with its
    /// manifest and dependencies.
    pub fn units_for_packages(&self, toolchain: &str, packages: &[PackageKey]) -> crate::Result<Vec<StoredUnit>> {
        let error = self.error();
        let mut select_units = self
            .transaction
            .prepare_cached(
                "SELECT id FROM units
                 WHERE toolchain = ?1 AND package_name = ?2 AND package_version = ?3 AND package_source = ?4",
            )
            .map_err(&error)?;
        let mut ids = Vec::new();
        for package in packages {
            let rows = select_units
                .query_map(params![toolchain, package.name, package.version, package.source], |row| row.get(0))
                .map_err(&error)?;
            for id in rows {
                ids.push(id.map_err(&error)?);
            }
        }
        read_units(&self.transaction, self.path, &ids)
    }

    /// The stored units with the row ids `ids`, with their manifests and dependencies, in
    /// that order; ids that are not stored are left out.
    pub fn units(&self, ids: &[i64]) -> crate::Result<Vec<StoredUnit>> {
        read_units(&self.transaction, self.path, ids)
    }

    /// Gives the files of the stored unit `unit` the modification times `times` (path, ns),
    /// and re-records the objects in `objects` (same bytes, another file: see
    /// [`crate::StoreDirectory::replace`]). The unit's bytes do not change, only when cargo will
    /// think they were written.
    pub fn retime_unit(&self, unit: i64, times: &[(Vec<u8>, i64)], objects: &[ObjectRecord]) -> crate::Result<()> {
        let error = self.error();
        let mut update = self
            .transaction
            .prepare_cached("UPDATE unit_files SET mtime_ns = ?3 WHERE unit_id = ?1 AND path = ?2")
            .map_err(&error)?;
        for (path, modified_ns) in times {
            update.execute(params![unit, path, modified_ns]).map_err(&error)?;
        }
        let mut update = self
            .transaction
            .prepare_cached(
                "UPDATE objects SET mtime_ns = ?3, inode = ?4, size = ?5 WHERE hash = ?1 AND executable = ?2",
            )
            .map_err(&error)?;
        for record in objects {
            update
                .execute(params![
                    &record.id.hash[..],
                    record.id.executable,
                    record.modified_ns,
                    to_i64(record.inode),
                    to_i64(record.size)
                ])
                .map_err(&error)?;
        }
        Ok(())
    }

    /// The toolchains that have units of `package` in the store, with how many.
    pub fn package_toolchains(&self, package: &PackageKey) -> crate::Result<Vec<(String, u64)>> {
        let error = self.error();
        let mut statement = self
            .transaction
            .prepare_cached(
                "SELECT toolchain, count(*) FROM units
                 WHERE package_name = ?1 AND package_version = ?2 AND package_source = ?3 GROUP BY toolchain",
            )
            .map_err(&error)?;
        let rows = statement
            .query_map(params![package.name, package.version, package.source], |row| {
                Ok((row.get(0)?, to_u64(row.get(1)?)))
            })
            .map_err(&error)?;
        rows.collect::<Result<_, _>>().map_err(&error)
    }

    /// The versions of `package` (its name and source; its version left out) that the store
    /// has units of for `toolchain`, with how many.
    pub fn package_versions(&self, toolchain: &str, package: &PackageKey) -> crate::Result<Vec<(String, u64)>> {
        let error = self.error();
        let mut statement = self
            .transaction
            .prepare_cached(
                "SELECT package_version, count(*) FROM units
                 WHERE toolchain = ?1 AND package_name = ?2 AND package_source = ?3 AND package_version != ?4
                 GROUP BY package_version",
            )
            .map_err(&error)?;
        let rows = statement
            .query_map(params![toolchain, package.name, package.source, package.version], |row| {
                Ok((row.get(0)?, to_u64(row.get(1)?)))
            })
            .map_err(&error)?;
        rows.collect::<Result<_, _>>().map_err(&error)
    }

    /// Commits the transaction.
    pub fn commit(self) -> crate::Result<()> {
        let path = self.path;
        self.transaction.commit().map_err(sql_error(path))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrating_twice_is_a_no_op() -> crate::Result<()> {
        let directory = tempfile::tempdir().map_err(|e| Error::io("create", "tempdir", e))?;
        let path = directory.path().join("index.sqlite");
        drop(Index::open(&path)?);
        let index = Index::open(&path)?;
        let version: i64 =
            index.connection.query_row("PRAGMA user_version", [], |row| row.get(0)).map_err(sql_error(&path))?;
        assert_eq!(version, MIGRATIONS.len() as i64);
        Ok(())
    }

    #[test]
    fn a_newer_schema_is_refused() -> crate::Result<()> {
        let directory = tempfile::tempdir().map_err(|e| Error::io("create", "tempdir", e))?;
        let path = directory.path().join("index.sqlite");
        let connection = Connection::open(&path).map_err(sql_error(&path))?;
        connection.pragma_update(None, "user_version", 99).map_err(sql_error(&path))?;
        drop(connection);
        assert!(matches!(Index::open(&path), Err(Error::NewerSchema { found: 99, .. })));
        Ok(())
    }

    #[test]
    fn a_referenced_object_cannot_be_deleted() -> crate::Result<()> {
        let directory = tempfile::tempdir().map_err(|e| Error::io("create", "tempdir", e))?;
        let path = directory.path().join("index.sqlite");
        let mut index = Index::open(&path)?;
        let id = ObjectId::of_bytes(b"bytes", false);
        let transaction = index.transaction()?;
        transaction.insert_object(&ObjectRecord { id, size: 5, modified_ns: 1, inode: 2 }, 0)?;
        let unit = NewUnit {
            key: "k".into(),
            toolchain: "t".into(),
            layout: "legacy".into(),
            place: "debug".into(),
            name: "a-0123456789abcdef".into(),
            kind: "lib".into(),
            fingerprint_name: "lib-a".into(),
            fingerprint: "0123456789abcdef".into(),
            package: PackageKey { name: "a".into(), version: "1.0.0".into(), source: "registry+x".into() },
            bytes: 5,
            files: vec![ManifestEntry {
                path: b"deps/liba-0123456789abcdef.rlib".to_vec(),
                object: Some(id),
                size: 5,
                mode: 0o644,
                modified_ns: 1,
                class: FileClass::RustcOutput,
                link_group: None,
            }],
            dependencies: Vec::new(),
        };
        transaction.insert_unit(&unit, 0)?;
        // A dependent listing that unit twice (a dependency renamed twice) gets one edge.
        let dependent = NewUnit { key: "dependent".into(), dependencies: vec!["k".into(), "k".into()], ..unit.clone() };
        transaction.insert_unit(&dependent, 0)?;
        transaction.commit()?;
        let edges: i64 = index
            .connection
            .query_row("SELECT count(*) FROM unit_dependencies", [], |row| row.get(0))
            .map_err(sql_error(&path))?;
        assert_eq!(edges, 1);
        let refused = index.connection.execute("DELETE FROM objects", []);
        assert!(refused.is_err(), "ON DELETE RESTRICT must protect a listed object");
        Ok(())
    }
}
