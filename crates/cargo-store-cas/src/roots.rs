//! Roots in the index: registered build directories and the units each holds.
//!
//! Garbage collection keeps what live roots reference. Deciding whether a root is live needs
//! the filesystem and the Cargo model, so it happens in `cargo-store-ops`; this module only
//! reads and updates the rows.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;

use rusqlite::params;

use crate::index::{Index, IndexTransaction, sql_error, to_u64};

/// A registered root with what it holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RootRecord {
    /// Row id.
    pub id: i64,
    /// The build directory.
    pub path: PathBuf,
    /// Its device when registered.
    pub device: u64,
    /// Its inode when registered.
    pub inode: u64,
    /// When it was first registered, seconds.
    pub created_at: i64,
    /// When an ingest or checkout last used it, seconds.
    pub last_used: i64,
    /// Since when its directory is gone, seconds; `None` while it exists.
    pub missing_since: Option<i64>,
    /// How many units it references.
    pub units: u64,
    /// The bytes of those units.
    pub bytes: u64,
}

/// One unit a root references, with what is needed to find its fingerprint in the root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RootReference {
    /// The unit's row id.
    pub unit_id: i64,
    /// `legacy` or `per-unit`.
    pub layout: String,
    /// The unit's place.
    pub place: String,
    /// `<pkg>-<hash>`.
    pub name: String,
    /// The fingerprint hash file name.
    pub fingerprint_name: String,
    /// The fingerprint hex the file holds when the root still has this build of the unit.
    pub fingerprint: String,
}

const SELECT_ROOTS: &str = "SELECT r.id, r.path, r.device, r.inode, r.created_at, r.last_used, r.missing_since,
            count(u.id), coalesce(sum(u.bytes), 0)
     FROM roots r LEFT JOIN root_units ru ON ru.root_id = r.id LEFT JOIN units u ON u.id = ru.unit_id
     GROUP BY r.id ORDER BY r.path";

fn root_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<RootRecord> {
    let path: Vec<u8> = row.get(1)?;
    Ok(RootRecord {
        id: row.get(0)?,
        path: PathBuf::from(OsStr::from_bytes(&path)),
        device: to_u64(row.get(2)?),
        inode: to_u64(row.get(3)?),
        created_at: row.get(4)?,
        last_used: row.get(5)?,
        missing_since: row.get(6)?,
        units: to_u64(row.get(7)?),
        bytes: to_u64(row.get(8)?),
    })
}

impl Index {
    /// Every root, by path.
    pub fn roots(&self) -> crate::Result<Vec<RootRecord>> {
        let error = sql_error(&self.path);
        let mut statement = self.connection.prepare_cached(SELECT_ROOTS).map_err(&error)?;
        let rows = statement.query_map([], root_from_row).map_err(&error)?;
        rows.collect::<Result<_, _>>().map_err(&error)
    }

    /// The units of the root `root` that its current builds used when an ingest last looked
    /// (see [`IndexTransaction::set_current`]).
    pub fn current_references(&self, root: i64) -> crate::Result<Vec<RootReference>> {
        let error = sql_error(&self.path);
        let mut statement = self
            .connection
            .prepare_cached(
                "SELECT u.id, u.layout, u.place, u.name, u.fingerprint_name, u.fingerprint
                 FROM root_units ru JOIN units u ON u.id = ru.unit_id WHERE ru.root_id = ?1 AND ru.current = 1",
            )
            .map_err(&error)?;
        let rows = statement.query_map([root], reference_from_row).map_err(&error)?;
        rows.collect::<Result<_, _>>().map_err(&error)
    }
}

fn reference_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<RootReference> {
    Ok(RootReference {
        unit_id: row.get(0)?,
        layout: row.get(1)?,
        place: row.get(2)?,
        name: row.get(3)?,
        fingerprint_name: row.get(4)?,
        fingerprint: row.get(5)?,
    })
}

impl IndexTransaction<'_> {
    /// Every root, by path.
    pub fn roots(&self) -> crate::Result<Vec<RootRecord>> {
        let error = self.error();
        let mut statement = self.transaction.prepare_cached(SELECT_ROOTS).map_err(&error)?;
        let rows = statement.query_map([], root_from_row).map_err(&error)?;
        rows.collect::<Result<_, _>>().map_err(&error)
    }

    /// The units the root `root` references.
    pub fn references(&self, root: i64) -> crate::Result<Vec<RootReference>> {
        let error = self.error();
        let mut statement = self
            .transaction
            .prepare_cached(
                "SELECT u.id, u.layout, u.place, u.name, u.fingerprint_name, u.fingerprint
                 FROM root_units ru JOIN units u ON u.id = ru.unit_id WHERE ru.root_id = ?1",
            )
            .map_err(&error)?;
        let rows = statement.query_map([root], reference_from_row).map_err(&error)?;
        rows.collect::<Result<_, _>>().map_err(&error)
    }

    /// Records that the root's directory is gone since `since` (unless it already was), or,
    /// with `None`, that it is back.
    pub fn set_root_missing(&self, root: i64, since: Option<i64>) -> crate::Result<()> {
        let error = self.error();
        let changed = match since {
            Some(since) => self
                .transaction
                .prepare_cached("UPDATE roots SET missing_since = coalesce(missing_since, ?2) WHERE id = ?1")
                .and_then(|mut statement| statement.execute(params![root, since])),
            None => self
                .transaction
                .prepare_cached("UPDATE roots SET missing_since = NULL WHERE id = ?1")
                .and_then(|mut statement| statement.execute([root])),
        };
        changed.map_err(&error)?;
        Ok(())
    }

    /// Drops a root and its references.
    pub fn forget_root(&self, root: i64) -> crate::Result<()> {
        let error = self.error();
        self.transaction
            .prepare_cached("DELETE FROM roots WHERE id = ?1")
            .map_err(&error)?
            .execute([root])
            .map_err(&error)?;
        Ok(())
    }

    /// Drops the root's references to `units`.
    pub fn drop_references(&self, root: i64, units: &[i64]) -> crate::Result<()> {
        let error = self.error();
        let mut statement = self
            .transaction
            .prepare_cached("DELETE FROM root_units WHERE root_id = ?1 AND unit_id = ?2")
            .map_err(&error)?;
        for unit in units {
            statement.execute(params![root, unit]).map_err(&error)?;
        }
        Ok(())
    }
}
