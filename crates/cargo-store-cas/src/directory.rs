//! The store directory: the one owner of every path under the store's root.
//!
//! The tree is drawn in the crate docs. Every name in it is spelled here and nowhere else:
//! commands ask a [`StoreDirectory`] for the path they need ([`StoreDirectory::lock_path`],
//! [`StoreDirectory::cache`], ...), the Cargo model is handed the cache directory it may write
//! in, and what garbage collection and verification need from the files is asked through
//! methods ([`StoreDirectory::orphans`], [`StoreDirectory::expired_cache_entries`],
//! [`StoreDirectory::check_object`], [`StoreDirectory::delete`]) rather than by walking
//! directories. That keeps the local layout in one type, which is where a second place for
//! objects (the remote tier planned behind the store) would plug in. Uv's `Cache` is the
//! model: a root plus named buckets, each with its path and its cleanup.
//!
//! # Orphans
//!
//! A crash leaves files that no index row names: an object published by an ingest that died
//! before its commit, a manifest written for such a unit, a half-written file in `tmp/`. They
//! are orphans once their last status change is older than a grace period (publishing an
//! object changes it; an object's mtime is the build's, not the store's), so that the files of
//! an ingest still running are never taken for them. Symbolic links are orphans as links:
//! nothing here follows one out of the store.
//!
//! # Caches
//!
//! `cache/` holds answers that are costly to get and cheap to lose, in one bucket per kind
//! ([`CacheBucket`]). Their writers go through `cargo_store_fs::write_cache_entry` and their
//! readers through `cargo_store_fs::read_cache_entry`, which moves an entry's mtime to now at
//! most once a day, so an entry's mtime is when it was last used. Garbage collection deletes
//! ([`StoreDirectory::expired_cache_entries`]):
//! - every entry not used for the maximum age it is given (`gc` gives 30 days);
//! - a build directory's shape (`cache/sync/`) once that build directory is no longer
//!   registered, after the grace period (an ingest records the shape after it registered the
//!   directory, both under the store lock);
//! - a temporary file left by a killed writer, after the grace period.
//!
//! A miss only costs asking cargo or rustc again.

use std::collections::HashSet;
use std::fs::{self, Metadata};
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use cargo_store_fs::{FileTimes, is_temporary, temporary_path};

use crate::error::Context;
use crate::{Error, FileIdentity, ObjectId, ObjectRecord, hash_file};

const LOCK: &str = ".lock";
const VERSION: &str = "VERSION";
const INDEX: &str = "index.sqlite";
const OBJECTS: &str = "objects";
const MANIFESTS: &str = "manifests";
const QUARANTINE: &str = "quarantine";
const TMP: &str = "tmp";
const CACHE: &str = "cache";

/// The directory of a store, and every path under it. Creating one checks and creates
/// nothing (see [`Store::open`](crate::Store::open) for that); it can be shared by the
/// threads that write and read objects in parallel, unlike the [`Store`](crate::Store), whose
/// index connection is for one thread.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreDirectory {
    root: PathBuf,
}

/// One bucket of `cache/`: a kind of remembered answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CacheBucket {
    /// `cache/workspaces/`: `cargo metadata` answers (see `cargo_store_units::Workspace::load_cached`).
    Workspaces,
    /// `cache/rustc/`: `rustc -vV` answers (see `cargo_store_units::Toolchain::detect_cached`).
    Rustc,
    /// `cache/host-cfg/`: `rustc --print cfg` answers (see `Toolchain::host_cfg_cached`).
    HostCfg,
    /// `cache/sync/`: the shape of each build directory when it was last ingested
    /// ([`StoreDirectory::sync_shape_path`]).
    Sync,
}

impl CacheBucket {
    /// The bucket's directory name under `cache/`.
    pub fn name(self) -> &'static str {
        match self {
            CacheBucket::Workspaces => "workspaces",
            CacheBucket::Rustc => "rustc",
            CacheBucket::HostCfg => "host-cfg",
            CacheBucket::Sync => "sync",
        }
    }
}

/// What the index names after a collection: the orphan walker leaves these files alone.
#[derive(Debug, Clone, Copy)]
pub struct Referenced<'a> {
    /// Objects that stay.
    pub objects: &'a HashSet<ObjectId>,
    /// Keys of the units whose manifests stay.
    pub unit_keys: &'a HashSet<&'a str>,
}

/// When cache entries expire (see the module docs).
#[derive(Debug, Clone, Copy)]
pub struct CacheExpiry<'a> {
    /// The time now, seconds since the epoch.
    pub now: i64,
    /// An entry not used for this many seconds goes.
    pub max_age: i64,
    /// A shape of an unregistered build directory, or a temporary file, goes once it is this
    /// many seconds old.
    pub grace: i64,
    /// The build directories registered after the collection.
    pub build_directories: &'a [PathBuf],
}

/// A file under the store directory that garbage collection may delete: an orphan or an
/// expired cache entry. Only the walkers of [`StoreDirectory`] make them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Garbage {
    path: PathBuf,
    bytes: u64,
}

impl Garbage {
    /// The file (or directory, deleted as a whole; or symbolic link, deleted as a link).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Its size when it was found.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }
}

/// What an object file is, compared with its index record ([`StoreDirectory::check_object`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ObjectState {
    /// As recorded (and, if rehashed, with the right bytes).
    Intact,
    /// The right bytes, in another inode or with another mtime than recorded (a restored
    /// backup, a copied store): the record to store instead.
    Refreshed(ObjectRecord),
    /// There is no file.
    Missing,
    /// The file is not the object: why.
    Damaged(String),
}

/// An entry of a fan-out directory (`objects/`, `manifests/`).
struct FanOutEntry {
    path: PathBuf,
    metadata: Metadata,
    /// `(prefix, name)` for an entry at its place `<prefix>/<name>`; `None` for one that lies
    /// beside the prefix directories.
    name: Option<(String, String)>,
}

impl StoreDirectory {
    /// The store directory at `root`; the paths under it are relative when `root` is.
    pub fn new(root: &Path) -> StoreDirectory {
        StoreDirectory { root: root.to_path_buf() }
    }

    /// The store directory itself.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// `.lock`, the file the store lock is taken on.
    pub fn lock_path(&self) -> PathBuf {
        self.root.join(LOCK)
    }

    /// `index.sqlite`, the index (SQLite adds `-wal` and `-shm` beside it).
    pub fn index_path(&self) -> PathBuf {
        self.root.join(INDEX)
    }

    /// `VERSION`, the on-disk layout version.
    pub(crate) fn version_path(&self) -> PathBuf {
        self.root.join(VERSION)
    }

    /// The entries whose presence says that a store is here, even a damaged one.
    pub(crate) fn markers(&self) -> [PathBuf; 3] {
        [self.version_path(), self.index_path(), self.root.join(OBJECTS)]
    }

    /// The directories every store has, created when it is opened.
    pub(crate) fn directories(&self) -> [PathBuf; 2] {
        [self.root.join(OBJECTS), self.tmp()]
    }

    /// `objects/ab/cdef…[.x]`, the file of an object.
    pub fn object_path(&self, id: &ObjectId) -> PathBuf {
        let (prefix, name) = id.file_name();
        self.root.join(OBJECTS).join(prefix).join(name)
    }

    /// `manifests/ab/cdef….json`, the manifest of the unit `key`, named by the blake3 hash of
    /// the key.
    pub fn manifest_path(&self, key: &str) -> PathBuf {
        let hex = blake3::hash(key.as_bytes()).to_hex();
        self.root.join(MANIFESTS).join(&hex[..2]).join(format!("{}.json", &hex[2..]))
    }

    /// `tmp/`, where files are written before they get their names; on the store's
    /// filesystem, so also where link probes start from.
    pub fn tmp(&self) -> PathBuf {
        self.root.join(TMP)
    }

    /// A fresh temporary path in `tmp/`: a file written there and renamed into place is never
    /// seen half-written, and one left by a crash is an orphan that gc deletes.
    pub fn temporary(&self, name: &str) -> PathBuf {
        temporary_path(&self.tmp().join(name))
    }

    /// The directory of a cache bucket, `cache/<bucket>/`. Created by whoever writes there
    /// first.
    pub fn cache(&self, bucket: CacheBucket) -> PathBuf {
        self.root.join(CACHE).join(bucket.name())
    }

    /// `cache/sync/<hash>.txt`: where the shape of `build_directory` is remembered, named by the
    /// blake3 hash of its path.
    pub fn sync_shape_path(&self, build_directory: &Path) -> PathBuf {
        let name = blake3::hash(build_directory.as_os_str().as_encoded_bytes()).to_hex();
        self.cache(CacheBucket::Sync).join(format!("{name}.txt"))
    }

    /// Moves the file of the object `id`, found damaged, to `quarantine/<id>.<time>`, where it
    /// is kept for inspection; returns where.
    pub fn quarantine(&self, id: &ObjectId) -> crate::Result<PathBuf> {
        let directory = self.root.join(QUARANTINE);
        fs::create_dir_all(&directory).context("create directory", &directory)?;
        let path = self.object_path(id);
        let target = directory.join(format!("{id}.{}", crate::now()));
        fs::rename(&path, &target).context("quarantine", &path)?;
        Ok(target)
    }

    /// Compares the file of `record`'s object with the record: size, mtime and inode, and
    /// the bytes too when `full` or when those differ. Returns the state and the bytes
    /// hashed.
    pub fn check_object(&self, record: &ObjectRecord, full: bool) -> (ObjectState, u64) {
        let path = self.object_path(&record.id);
        let metadata = match fs::symlink_metadata(&path) {
            Ok(metadata) => metadata,
            Err(error) if error.kind() == io::ErrorKind::NotFound => return (ObjectState::Missing, 0),
            Err(error) => return (ObjectState::Damaged(format!("cannot be read: {error}")), 0),
        };
        if !metadata.is_file() {
            return (ObjectState::Damaged("is not a regular file".to_owned()), 0);
        }
        let current = FileIdentity::of(&metadata);
        let recorded = FileIdentity {
            size: record.size,
            inode: record.inode,
            times: FileTimes { modified_ns: record.modified_ns },
        };
        if current.size != record.size {
            return (ObjectState::Damaged(format!("has {} bytes instead of {}", current.size, record.size)), 0);
        }
        if current == recorded && !full {
            return (ObjectState::Intact, 0);
        }
        match hash_file(&path, &current) {
            Ok(hash) if hash.as_bytes() == &record.id.hash => {
                if current == recorded {
                    (ObjectState::Intact, current.size)
                } else {
                    let refreshed = ObjectRecord {
                        id: record.id,
                        size: current.size,
                        modified_ns: current.times.modified_ns,
                        inode: current.inode,
                    };
                    (ObjectState::Refreshed(refreshed), current.size)
                }
            }
            Ok(_) => (ObjectState::Damaged("its bytes do not match its hash".to_owned()), current.size),
            Err(error) => (ObjectState::Damaged(format!("cannot be hashed: {error}")), 0),
        }
    }

    /// Every regular file under `objects/` named like an object, with its metadata.
    pub(crate) fn object_files(&self) -> crate::Result<Vec<(ObjectId, Metadata)>> {
        Ok(fan_out(&self.root.join(OBJECTS))?
            .into_iter()
            .filter(|entry| entry.metadata.is_file())
            .filter_map(|entry| {
                let (prefix, name) = entry.name?;
                Some((ObjectId::from_file_name(&prefix, &name)?, entry.metadata))
            })
            .collect())
    }

    /// Every file in a prefix directory of `manifests/`, whatever it holds.
    pub(crate) fn manifest_files(&self) -> crate::Result<Vec<PathBuf>> {
        Ok(fan_out(&self.root.join(MANIFESTS))?
            .into_iter()
            .filter(|entry| entry.name.is_some() && !entry.metadata.is_dir())
            .map(|entry| entry.path)
            .collect())
    }

    /// The orphans (see the module docs): files under `objects/` and `manifests/` that are not
    /// the regular file of something `referenced` names, and everything in `tmp/`, once their
    /// last status change is `grace` seconds before `now` or earlier.
    pub fn orphans(&self, referenced: &Referenced<'_>, now: i64, grace: i64) -> crate::Result<Vec<Garbage>> {
        let old_enough = |metadata: &Metadata| now - metadata.ctime() >= grace;
        let mut orphans = Vec::new();
        for entry in fan_out(&self.root.join(OBJECTS))? {
            let listed = entry.metadata.is_file()
                && entry
                    .name
                    .as_ref()
                    .and_then(|(prefix, name)| ObjectId::from_file_name(prefix, name))
                    .is_some_and(|id| referenced.objects.contains(&id));
            if !listed && old_enough(&entry.metadata) {
                orphans.push(Garbage { bytes: entry.metadata.len(), path: entry.path });
            }
        }
        let manifests: HashSet<PathBuf> = referenced.unit_keys.iter().map(|key| self.manifest_path(key)).collect();
        for entry in fan_out(&self.root.join(MANIFESTS))? {
            let listed = entry.metadata.is_file() && manifests.contains(&entry.path);
            if !listed && old_enough(&entry.metadata) {
                orphans.push(Garbage { bytes: entry.metadata.len(), path: entry.path });
            }
        }
        for path in entries(&self.tmp())? {
            if let Some(metadata) = stat(&path)?
                && old_enough(&metadata)
            {
                orphans.push(Garbage { bytes: metadata.len(), path });
            }
        }
        Ok(orphans)
    }

    /// The damaged objects `quarantine` moved aside `max_age` seconds before `now` or earlier
    /// (when they were moved: their status change time), kept that long for inspection.
    pub fn expired_quarantine(&self, now: i64, max_age: i64) -> crate::Result<Vec<Garbage>> {
        let mut expired = Vec::new();
        for path in entries(&self.root.join(QUARANTINE))? {
            if let Some(metadata) = stat(&path)?
                && now - metadata.ctime() >= max_age
            {
                expired.push(Garbage { bytes: metadata.len(), path });
            }
        }
        Ok(expired)
    }

    /// The cache entries that expire under `expiry` (see the module docs), in every bucket
    /// (and in any other directory under `cache/`, such as one an older version wrote).
    pub fn expired_cache_entries(&self, expiry: &CacheExpiry<'_>) -> crate::Result<Vec<Garbage>> {
        let shapes: HashSet<PathBuf> =
            expiry.build_directories.iter().map(|directory| self.sync_shape_path(directory)).collect();
        let sync = self.cache(CacheBucket::Sync);
        let mut expired = Vec::new();
        let mut pending = vec![self.root.join(CACHE)];
        while let Some(directory) = pending.pop() {
            for path in entries(&directory)? {
                let Some(metadata) = stat(&path)? else { continue };
                if metadata.is_dir() {
                    pending.push(path);
                    continue;
                }
                let age = expiry.now - metadata.mtime();
                let unregistered = directory == sync && !shapes.contains(&path);
                let temporary = path.file_name().is_some_and(is_temporary);
                if age >= expiry.max_age || ((unregistered || temporary) && age >= expiry.grace) {
                    expired.push(Garbage { bytes: metadata.len(), path });
                }
            }
        }
        Ok(expired)
    }

    /// Deletes `garbage` (a directory as a whole, a symbolic link as a link) and returns the
    /// disk space that frees: none when another hard link keeps the inode alive. `None` when
    /// it is gone already. With `dry_run`, only measures.
    pub fn delete(&self, garbage: &Garbage, dry_run: bool) -> crate::Result<Option<u64>> {
        remove(&garbage.path, dry_run)
    }

    /// Deletes the file of the object `id` like [`StoreDirectory::delete`]; the caller removed
    /// its index row first.
    pub fn delete_object(&self, id: &ObjectId, dry_run: bool) -> crate::Result<Option<u64>> {
        remove(&self.object_path(id), dry_run)
    }
}

/// Removes a file or directory, not following a symbolic link; see [`StoreDirectory::delete`].
fn remove(path: &Path, dry_run: bool) -> crate::Result<Option<u64>> {
    let Some(metadata) = stat(path)? else { return Ok(None) };
    let freed = if metadata.nlink() <= 1 { metadata.blocks() * 512 } else { 0 };
    if !dry_run {
        let removed = if metadata.is_dir() { fs::remove_dir_all(path) } else { fs::remove_file(path) };
        match removed {
            Ok(()) => {}
            Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(error) => return Err(Error::io("delete", path, error)),
        }
    }
    Ok(Some(freed))
}

/// The metadata of `path`, not following a symbolic link; `None` if it is gone.
fn stat(path: &Path) -> crate::Result<Option<Metadata>> {
    match fs::symlink_metadata(path) {
        Ok(metadata) => Ok(Some(metadata)),
        Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(error) => Err(error).context("read metadata of", path),
    }
}

/// The entries of a directory; none if it does not exist.
fn entries(directory: &Path) -> crate::Result<Vec<PathBuf>> {
    match fs::read_dir(directory) {
        Ok(entries) => entries
            .map(|entry| entry.map(|entry| entry.path()))
            .collect::<io::Result<_>>()
            .context("read directory", directory),
        Err(error) if matches!(error.kind(), io::ErrorKind::NotFound | io::ErrorKind::NotADirectory) => Ok(Vec::new()),
        Err(error) => Err(error).context("read directory", directory),
    }
}

/// The entries of a fan-out directory, `<directory>/<prefix>/<name>`: those in each prefix
/// directory, and whatever else lies beside them. A symbolic link is an entry, never a
/// directory to descend into.
fn fan_out(directory: &Path) -> crate::Result<Vec<FanOutEntry>> {
    let mut found = Vec::new();
    let name = |path: &Path| path.file_name().map(|name| name.to_string_lossy().into_owned()).unwrap_or_default();
    for path in entries(directory)? {
        let Some(metadata) = stat(&path)? else { continue };
        if !metadata.is_dir() {
            found.push(FanOutEntry { path, metadata, name: None });
            continue;
        }
        let prefix = name(&path);
        for file in entries(&path)? {
            let Some(metadata) = stat(&file)? else { continue };
            let placed = (prefix.clone(), name(&file));
            found.push(FanOutEntry { path: file, metadata, name: Some(placed) });
        }
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: i64 = 3600;
    const DAY: i64 = 24 * HOUR;

    fn set_mtime(path: &Path, time: i64) {
        cargo_store_fs::set_times(path, FileTimes { modified_ns: time * 1_000_000_000 }).expect("set times");
    }

    fn write(path: &Path) {
        fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        fs::write(path, b"x").expect("write");
    }

    #[test]
    fn every_path_is_under_the_root() {
        let directory = StoreDirectory::new(Path::new("/store"));
        let id = ObjectId::of_bytes(b"x", true);
        let object = directory.object_path(&id);
        assert!(object.starts_with("/store/objects") && object.to_string_lossy().ends_with(".x"));
        assert_eq!(
            object.strip_prefix("/store/objects").expect("under objects/").iter().count(),
            2,
            "objects/ab/cdef….x"
        );
        assert!(directory.manifest_path("key").starts_with("/store/manifests"));
        assert_eq!(directory.lock_path(), Path::new("/store/.lock"));
        assert_eq!(directory.index_path(), Path::new("/store/index.sqlite"));
        assert_eq!(directory.cache(CacheBucket::HostCfg), Path::new("/store/cache/host-cfg"));
        let shape = directory.sync_shape_path(Path::new("/work/a/target"));
        assert_eq!(shape.parent(), Some(Path::new("/store/cache/sync")));
        assert_ne!(shape, directory.sync_shape_path(Path::new("/work/b/target")));
    }

    #[test]
    fn orphans_are_what_no_row_names_once_the_grace_period_is_over() {
        let temporary = tempfile::tempdir().expect("tempdir");
        let directory = StoreDirectory::new(temporary.path());
        let kept = ObjectId::of_bytes(b"kept", false);
        let lost = ObjectId::of_bytes(b"lost", false);
        for path in [directory.object_path(&kept), directory.object_path(&lost), directory.manifest_path("unit")] {
            write(&path);
        }
        write(&directory.manifest_path("gone"));
        write(&directory.tmp().join("half-written"));
        write(&temporary.path().join("objects/stray"));
        let objects = HashSet::from([kept]);
        let unit_keys = HashSet::from(["unit"]);
        let referenced = Referenced { objects: &objects, unit_keys: &unit_keys };
        let now = crate::now();
        assert!(directory.orphans(&referenced, now, HOUR).expect("walk").is_empty(), "within the grace period");
        let mut found: Vec<PathBuf> =
            directory.orphans(&referenced, now + 2 * HOUR, HOUR).expect("walk").into_iter().map(|g| g.path).collect();
        found.sort();
        let mut expected = vec![
            directory.object_path(&lost),
            directory.manifest_path("gone"),
            directory.tmp().join("half-written"),
            temporary.path().join("objects/stray"),
        ];
        expected.sort();
        assert_eq!(found, expected);
    }

    #[test]
    fn cache_entries_expire_when_unused_or_unregistered() {
        let temporary = tempfile::tempdir().expect("tempdir");
        let directory = StoreDirectory::new(temporary.path());
        let now = crate::now();
        let registered = PathBuf::from("/work/a/target");
        let entries = [
            ("fresh", directory.cache(CacheBucket::Rustc).join("fresh.txt"), now - DAY, false),
            ("old", directory.cache(CacheBucket::Rustc).join("old.txt"), now - 31 * DAY, true),
            ("nested", directory.cache(CacheBucket::Workspaces).join("by-content/old.json"), now - 40 * DAY, true),
            ("registered", directory.sync_shape_path(&registered), now - 10 * DAY, false),
            ("unregistered", directory.sync_shape_path(Path::new("/work/gone/target")), now - 2 * HOUR, true),
            ("just written", directory.sync_shape_path(Path::new("/work/new/target")), now - 60, false),
            ("temporary", directory.cache(CacheBucket::HostCfg).join(".cargo-store-1-1.tmp"), now - 2 * HOUR, true),
        ];
        for (_, path, time, _) in &entries {
            write(path);
            set_mtime(path, *time);
        }
        let build_directories = [registered];
        let expiry = CacheExpiry { now, max_age: 30 * DAY, grace: HOUR, build_directories: &build_directories };
        let expired: HashSet<PathBuf> =
            directory.expired_cache_entries(&expiry).expect("walk").into_iter().map(|g| g.path).collect();
        for (what, path, _, expected) in &entries {
            assert_eq!(expired.contains(path), *expected, "{what}: {}", path.display());
        }
        assert_eq!(expired.len(), entries.iter().filter(|entry| entry.3).count());
        for garbage in directory.expired_cache_entries(&expiry).expect("walk") {
            assert!(directory.delete(&garbage, true).expect("measure").is_some());
            assert!(garbage.path.exists(), "a dry run deletes nothing");
            assert!(directory.delete(&garbage, false).expect("delete").is_some());
            assert!(!garbage.path.exists());
            assert_eq!(directory.delete(&garbage, false).expect("delete again"), None);
        }
        assert!(directory.expired_cache_entries(&expiry).expect("walk").is_empty());
    }
}
