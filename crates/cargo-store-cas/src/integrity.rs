//! Index queries for checking and repairing the store (`cargo store verify`).

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;

use cargo_store_fs::FileClass;
use rusqlite::params;

use crate::index::{IndexTransaction, read_units, to_i64, to_u64};
use crate::{ManifestEntry, NewUnit, ObjectId, ObjectRecord};

/// A worktree file that should hold an object's bytes: where a damaged object can be restored
/// from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectCopy {
    /// The file.
    pub path: PathBuf,
    /// Its class in the unit.
    pub class: FileClass,
}

impl IndexTransaction<'_> {
    /// Every object with its row id.
    pub fn all_objects(&self) -> crate::Result<Vec<(i64, ObjectRecord)>> {
        let error = self.error();
        let mut statement = self
            .transaction
            .prepare_cached("SELECT id, hash, executable, size, mtime_ns, inode FROM objects")
            .map_err(&error)?;
        let rows = statement
            .query_map([], |row| {
                let hash: Vec<u8> = row.get(1)?;
                Ok((
                    row.get(0)?,
                    ObjectRecord {
                        id: ObjectId { hash: <[u8; 32]>::try_from(hash).unwrap_or([0; 32]), executable: row.get(2)? },
                        size: to_u64(row.get(3)?),
                        modified_ns: row.get(4)?,
                        inode: to_u64(row.get(5)?),
                    },
                ))
            })
            .map_err(&error)?;
        rows.collect::<Result<_, _>>().map_err(&error)
    }

    /// Records what an object file looks like now (after it was found intact, or restored).
    pub fn update_object(&self, row: i64, record: &ObjectRecord) -> crate::Result<()> {
        let error = self.error();
        self.transaction
            .prepare_cached("UPDATE objects SET size = ?2, mtime_ns = ?3, inode = ?4 WHERE id = ?1")
            .map_err(&error)?
            .execute(params![row, to_i64(record.size), record.modified_ns, to_i64(record.inode)])
            .map_err(&error)?;
        Ok(())
    }

    /// The files of registered build directories that should hold the object `row`.
    pub fn object_copies(&self, row: i64) -> crate::Result<Vec<ObjectCopy>> {
        let error = self.error();
        let mut statement = self
            .transaction
            .prepare_cached(
                "SELECT r.path, u.place, f.path, f.class FROM unit_files f
                 JOIN units u ON u.id = f.unit_id
                 JOIN root_units ru ON ru.unit_id = u.id
                 JOIN roots r ON r.id = ru.root_id
                 WHERE f.object_id = ?1",
            )
            .map_err(&error)?;
        let rows = statement
            .query_map([row], |row| {
                let root: Vec<u8> = row.get(0)?;
                let place: String = row.get(1)?;
                let path: Vec<u8> = row.get(2)?;
                Ok(ObjectCopy {
                    path: PathBuf::from(OsStr::from_bytes(&root)).join(place).join(OsStr::from_bytes(&path)),
                    class: FileClass::from_code(row.get(3)?).unwrap_or(FileClass::Metadata),
                })
            })
            .map_err(&error)?;
        rows.collect::<Result<_, _>>().map_err(&error)
    }

    /// The units that list any of the objects `rows`, and every unit that depends on them.
    pub fn units_needing(&self, rows: &[i64]) -> crate::Result<Vec<i64>> {
        let error = self.error();
        let list = serde_json::to_string(rows).unwrap_or_else(|_| "[]".to_owned());
        let mut statement = self
            .transaction
            .prepare_cached(
                "WITH RECURSIVE doomed(id) AS (
                     SELECT DISTINCT unit_id FROM unit_files WHERE object_id IN (SELECT value FROM json_each(?1))
                     UNION
                     SELECT d.unit_id FROM unit_dependencies d JOIN doomed ON d.dependency_id = doomed.id
                 ) SELECT id FROM doomed",
            )
            .map_err(&error)?;
        let rows = statement.query_map([list], |row| row.get(0)).map_err(&error)?;
        rows.collect::<Result<_, _>>().map_err(&error)
    }

    /// Every unit's row id and key.
    pub fn unit_keys(&self) -> crate::Result<Vec<(i64, String)>> {
        let error = self.error();
        let mut statement = self.transaction.prepare_cached("SELECT id, key FROM units").map_err(&error)?;
        let rows = statement.query_map([], |row| Ok((row.get(0)?, row.get(1)?))).map_err(&error)?;
        rows.collect::<Result<_, _>>().map_err(&error)
    }

    /// A stored unit as it was given to [`IndexTransaction::insert_unit`] (to write its
    /// manifest file again).
    pub fn new_unit(&self, unit: i64) -> crate::Result<NewUnit> {
        let error = self.error();
        let stored = read_units(&self.transaction, self.path, &[unit])?
            .pop()
            .ok_or_else(|| error(rusqlite::Error::QueryReturnedNoRows))?;
        let mut stored = NewUnit {
            key: stored.key,
            toolchain: stored.toolchain,
            layout: stored.layout,
            place: stored.place,
            name: stored.name,
            kind: stored.kind,
            fingerprint_name: stored.fingerprint_name,
            fingerprint: stored.fingerprint,
            package: stored.package,
            bytes: stored.bytes,
            files: stored
                .files
                .into_iter()
                .map(|file| ManifestEntry {
                    object: file.object.map(|record| record.id),
                    path: file.path,
                    size: file.size,
                    mode: file.mode,
                    modified_ns: file.modified_ns,
                    class: file.class,
                    link_group: file.link_group,
                })
                .collect(),
            dependencies: Vec::new(),
        };
        stored.dependencies = self
            .transaction
            .prepare_cached(
                "SELECT u.key FROM unit_dependencies d JOIN units u ON u.id = d.dependency_id WHERE d.unit_id = ?1",
            )
            .map_err(&error)?
            .query_map([unit], |row| row.get(0))
            .map_err(&error)?
            .collect::<Result<_, _>>()
            .map_err(&error)?;
        Ok(stored)
    }

    /// What SQLite's own checks say is wrong: `PRAGMA quick_check` and dangling references
    /// (`PRAGMA foreign_key_check`). Empty when all is well.
    pub fn database_problems(&self) -> crate::Result<Vec<String>> {
        let error = self.error();
        let mut problems: Vec<String> = self
            .transaction
            .prepare("PRAGMA quick_check")
            .map_err(&error)?
            .query_map([], |row| row.get::<_, String>(0))
            .map_err(&error)?
            .collect::<Result<Vec<_>, _>>()
            .map_err(&error)?
            .into_iter()
            .filter(|line| line != "ok")
            .collect();
        let dangling: i64 = self
            .transaction
            .query_row("SELECT count(*) FROM pragma_foreign_key_check", [], |row| row.get(0))
            .map_err(&error)?;
        if dangling > 0 {
            problems.push(format!("{dangling} references to rows that do not exist"));
        }
        Ok(problems)
    }
}
