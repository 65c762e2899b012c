//! Opening the store (creation, ownership checks, the lock) and writing objects into it.

use std::fs::{self, DirBuilder, File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Component, Path, PathBuf};

use cargo_store_fs::{FileTimes, publish, set_times, tag_cache_directory, write_new};

use crate::error::Context;
use crate::index::{Index, NewUnit, ObjectRecord};
use crate::lock::{self, Access};
use crate::manifest;
use crate::{Error, FileIdentity, ObjectId, StoreDirectory};

/// The on-disk layout version written to `VERSION`.
pub const STORE_VERSION: u32 = 1;

/// The file an object is made from, as it was when it was hashed.
#[derive(Debug, Clone, Copy)]
pub struct ObjectSource<'a> {
    /// The file.
    pub path: &'a Path,
    /// What it was when it was hashed; the object gets its mtime.
    pub identity: FileIdentity,
    /// Whether the file itself may become the object (same filesystem, replaced by rename).
    pub hardlink: bool,
    /// Whether the object may be hard-linked into worktrees (see [`ObjectId::mode`]).
    pub writable: bool,
}

/// An object written by [`StoreDirectory::store`].
#[derive(Debug, Clone, Copy)]
pub struct StagedObject {
    /// What the index should record.
    pub record: ObjectRecord,
    /// Whether this call created the object file (rather than finding it there).
    pub created: bool,
}

/// An open store, holding the store lock for as long as it lives.
pub struct Store {
    directory: StoreDirectory,
    device: u64,
    index: Index,
    _lock: File,
}

impl Store {
    /// The store location: `CARGO_STORE_DIR`, else `$XDG_CACHE_HOME/cargo-store`, else
    /// `~/.cache/cargo-store`. A variable set to the empty string counts as unset.
    ///
    /// A relative `CARGO_STORE_DIR` is refused ([`Error::RelativeLocation`]) rather than resolved
    /// against the current directory: the variable is inherited by commands that run elsewhere
    /// (cargo's subcommands, git hooks in new worktrees, scripts), and each of them would
    /// silently fill a store of its own, so nothing would ever be shared.
    pub fn default_location() -> crate::Result<PathBuf> {
        let non_empty = |name: &str| std::env::var_os(name).filter(|value| !value.is_empty()).map(PathBuf::from);
        if let Some(path) = non_empty("CARGO_STORE_DIR") {
            if path.is_relative() {
                return Err(Error::RelativeLocation { path });
            }
            return Ok(path);
        }
        if let Some(cache) = non_empty("XDG_CACHE_HOME").filter(|path| path.is_absolute()) {
            return Ok(cache.join("cargo-store"));
        }
        non_empty("HOME").map(|home| home.join(".cache").join("cargo-store")).ok_or(Error::NoLocation)
    }

    /// Opens the store at `root`, creating it on first use, and takes the store lock.
    /// `waiting` is called once if the lock is held by another process.
    pub fn open(root: &Path, access: Access, waiting: &mut dyn FnMut(&str)) -> crate::Result<Store> {
        let directory = prepare(root)?;
        let lock = lock::acquire(&directory.lock_path(), access, waiting)?;
        Store::with_lock(directory, lock)
    }

    /// Opens the store only if its lock is free now; `None` if another process holds it.
    pub fn try_open(root: &Path, access: Access) -> crate::Result<Option<Store>> {
        let directory = prepare(root)?;
        match lock::try_acquire(&directory.lock_path(), access)? {
            Some(lock) => Store::with_lock(directory, lock).map(Some),
            None => Ok(None),
        }
    }

    /// Opens the store at `root` like [`Store::open`], but only if there is one: the commands
    /// that read the store (status, verify, roots) or collect it use this, so that a mistyped
    /// `--store` is an error instead of a new, empty store. Fails with [`Error::NoStore`], having
    /// created nothing, when `root` holds no store.
    pub fn open_existing(root: &Path, access: Access, waiting: &mut dyn FnMut(&str)) -> crate::Result<Store> {
        let root = Store::existing(root)?;
        Store::open(&root, access, waiting)
    }

    /// [`Store::try_open`] for a store that must already exist (see [`Store::open_existing`]).
    pub fn try_open_existing(root: &Path, access: Access) -> crate::Result<Option<Store>> {
        let root = Store::existing(root)?;
        Store::try_open(&root, access)
    }

    /// The absolute path of the store at `root`, once it is checked, creating nothing, that a
    /// store is there: a directory holding `VERSION`, `index.sqlite` or `objects/` (a store
    /// that lost some of them can still be repaired). [`Error::NoStore`] otherwise.
    pub fn existing(root: &Path) -> crate::Result<PathBuf> {
        let root = std::path::absolute(root).context("resolve", root)?;
        let missing = |detail| Err(Error::NoStore { path: root.clone(), detail });
        match fs::metadata(&root) {
            Ok(metadata) if metadata.is_dir() => {}
            Ok(_) => return missing(" (it is not a directory)"),
            Err(error) if matches!(error.kind(), io::ErrorKind::NotFound | io::ErrorKind::NotADirectory) => {
                return missing("");
            }
            Err(error) => return Err(error).context("read metadata of", &root),
        }
        for path in StoreDirectory::new(&root).markers() {
            match fs::symlink_metadata(&path) {
                Ok(_) => return Ok(root),
                Err(error) if error.kind() == io::ErrorKind::NotFound => {}
                Err(error) => return Err(error).context("read metadata of", &path),
            }
        }
        missing(" (the directory exists but holds no store)")
    }

    fn with_lock(directory: StoreDirectory, lock: File) -> crate::Result<Store> {
        let root = directory.root();
        let device = fs::metadata(root).context("read metadata of", root)?.dev();
        let index = Index::open(&directory.index_path())?;
        Ok(Store { directory, device, index, _lock: lock })
    }

    /// The store directory.
    pub fn root(&self) -> &Path {
        self.directory.root()
    }

    /// The store directory and every path under it, shareable between threads.
    pub fn directory(&self) -> &StoreDirectory {
        &self.directory
    }

    /// The device the store lives on.
    pub fn device(&self) -> u64 {
        self.device
    }

    /// The index.
    pub fn index(&self) -> &Index {
        &self.index
    }

    /// The index, for writing.
    pub fn index_mut(&mut self) -> &mut Index {
        &mut self.index
    }
}

/// Writing objects and manifests.
impl StoreDirectory {
    /// Writes the on-disk manifest of a unit (before its index row is committed).
    pub fn write_manifest(&self, unit: &NewUnit) -> crate::Result<()> {
        manifest::write(self, unit)
    }

    /// Removes the on-disk manifest of the unit `key` (after its index row is deleted).
    pub fn remove_manifest(&self, key: &str) -> crate::Result<()> {
        manifest::remove(self, key)
    }

    /// Writes the bytes of `source` into the store as the object `id`, whose hash the caller
    /// computed from that file, unless the object file exists already.
    ///
    /// With `source.hardlink`, the source inode itself becomes the object (only for files that
    /// are replaced by rename, never written in place); the link is checked to still be the
    /// inode that was hashed, with the same size and mtime, so a file replaced since it was
    /// hashed is not stored under the wrong name. Otherwise the bytes are copied into `tmp/`
    /// while being hashed again, and the copy is kept only if its hash is `id`. Either way the
    /// object gets its final name only when complete, with its final mode and mtime.
    pub fn store(&self, id: ObjectId, source: &ObjectSource) -> crate::Result<StagedObject> {
        let ObjectSource { path: source, identity, hardlink, writable } = *source;
        let (size, times) = (identity.size, identity.times);
        let destination = self.object_path(&id);
        if let Some(record) = self.existing_object(&destination, id, size)? {
            return Ok(StagedObject { record, created: false });
        }
        if let Some(parent) = destination.parent() {
            fs::create_dir_all(parent).context("create directory", parent)?;
        }
        let temporary = self.temporary("object");
        let staged = if hardlink && fs::hard_link(source, &temporary).is_ok() {
            check_same_file(&temporary, source, &identity)
        } else {
            copy_verified(source, &temporary, id)
        }
        .and_then(|()| {
            fs::set_permissions(&temporary, fs::Permissions::from_mode(id.mode(writable)))
                .context("set the permissions of", &temporary)?;
            Ok(set_times(&temporary, times)?)
        });
        if let Err(error) = staged {
            let _ = fs::remove_file(&temporary);
            return Err(error);
        }
        let created = match publish(&temporary, &destination) {
            Ok(()) => true,
            // A concurrent ingest stored the same bytes first: theirs is as good as ours.
            Err(error) if error.io_error().is_some_and(|e| e.kind() == io::ErrorKind::AlreadyExists) => false,
            Err(error) => return Err(error.into()),
        };
        let metadata = fs::symlink_metadata(&destination).context("read metadata of", &destination)?;
        Ok(StagedObject {
            record: ObjectRecord {
                id,
                size: metadata.len(),
                modified_ns: FileTimes::of(&metadata).modified_ns,
                inode: metadata.ino(),
            },
            created,
        })
    }

    /// Makes the file `source` (hard-linked, so on the store's filesystem) the object `id` in
    /// place of the object file there now, and returns its record. The bytes must be the
    /// object's: they are hashed through the new link before it replaces the old one.
    ///
    /// This is how the store takes the times of an older build of a unit: an object that may
    /// be hard-linked into worktrees carries the mtime the worktree file must have, so another
    /// mtime needs another inode. The old inode stays wherever it is linked already. Only to be
    /// called under the exclusive store lock: a checkout that read the old record would take
    /// the new file for a damaged one.
    pub fn replace(&self, id: ObjectId, source: &ObjectSource) -> crate::Result<ObjectRecord> {
        let destination = self.object_path(&id);
        let temporary = self.temporary("object");
        let staged = fs::hard_link(source.path, &temporary)
            .context("hard-link", source.path)
            .and_then(|()| check_same_file(&temporary, source.path, &source.identity))
            .and_then(|()| {
                if crate::hash_file(&temporary, &source.identity)?.as_bytes() != &id.hash {
                    return Err(Error::Changed { path: source.path.to_path_buf() });
                }
                fs::set_permissions(&temporary, fs::Permissions::from_mode(id.mode(source.writable)))
                    .context("set the permissions of", &temporary)?;
                fs::rename(&temporary, &destination).context("replace", &destination)
            });
        if let Err(error) = staged {
            let _ = fs::remove_file(&temporary);
            return Err(error);
        }
        let metadata = fs::symlink_metadata(&destination).context("read metadata of", &destination)?;
        Ok(ObjectRecord {
            id,
            size: metadata.len(),
            modified_ns: FileTimes::of(&metadata).modified_ns,
            inode: metadata.ino(),
        })
    }

    /// The record of an object file that is already in place with the right size. One with the
    /// wrong size is damaged: it is moved to `quarantine/` so that it can be written anew.
    fn existing_object(&self, path: &Path, id: ObjectId, size: u64) -> crate::Result<Option<ObjectRecord>> {
        let metadata = match fs::symlink_metadata(path) {
            Ok(metadata) => metadata,
            Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(error) => return Err(error).context("read metadata of", path),
        };
        if metadata.is_file() && metadata.len() == size {
            return Ok(Some(ObjectRecord {
                id,
                size,
                modified_ns: FileTimes::of(&metadata).modified_ns,
                inode: metadata.ino(),
            }));
        }
        let target = self.quarantine(&id)?;
        tracing::warn!(
            "object {} is damaged (size {} instead of {size}); moved to {}",
            path.display(),
            metadata.len(),
            target.display()
        );
        Ok(None)
    }
}

/// `path` made absolute against the current directory, with symbolic links resolved as far as
/// the path exists and `.` and `..` resolved by name beyond that. Two spellings of one
/// directory (`../x`, `x/./target`, a path through a symbolic link) give the same path, also
/// when the directory is gone: a registered worktree on a disk that will not come back must
/// still be nameable.
pub fn normalize_path(path: &Path) -> io::Result<PathBuf> {
    let absolute = std::path::absolute(path)?;
    let components: Vec<Component<'_>> = absolute.components().collect();
    for existing in (1..=components.len()).rev() {
        let prefix: PathBuf = components[..existing].iter().collect();
        let Ok(mut normalized) = prefix.canonicalize() else { continue };
        for component in &components[existing..] {
            match component {
                Component::ParentDir => {
                    normalized.pop();
                }
                Component::Normal(name) => normalized.push(name),
                Component::CurDir | Component::RootDir | Component::Prefix(_) => {}
            }
        }
        return Ok(normalized);
    }
    Ok(absolute)
}

/// Checks that a fresh hard link still is the file that was hashed.
fn check_same_file(link: &Path, source: &Path, identity: &FileIdentity) -> crate::Result<()> {
    let metadata = fs::symlink_metadata(link).context("read metadata of", link)?;
    if FileIdentity::of(&metadata) != *identity {
        return Err(Error::Changed { path: source.to_path_buf() });
    }
    Ok(())
}

/// Copies `source` to `destination`, hashing on the way; fails if the bytes are not `id`'s.
fn copy_verified(source: &Path, destination: &Path, id: ObjectId) -> crate::Result<()> {
    let mut input = File::open(source).context("open", source)?;
    let mut output =
        OpenOptions::new().write(true).create_new(true).mode(0o600).open(destination).context("create", destination)?;
    let mut hasher = blake3::Hasher::new();
    let mut buffer = vec![0u8; 256 * 1024];
    loop {
        let read = input.read(&mut buffer).context("read", source)?;
        if read == 0 {
            break;
        }
        hasher.update(&buffer[..read]);
        output.write_all(&buffer[..read]).context("write", destination)?;
    }
    if hasher.finalize().as_bytes() != &id.hash {
        return Err(Error::Changed { path: source.to_path_buf() });
    }
    Ok(())
}

/// Creates the store layout if needed and checks that it is safe to use.
pub(crate) fn prepare(root: &Path) -> crate::Result<StoreDirectory> {
    let root = std::path::absolute(root).context("resolve", root)?;
    if let Some(parent) = root.parent() {
        fs::create_dir_all(parent).context("create directory", parent)?;
    }
    match DirBuilder::new().mode(0o700).create(&root) {
        Ok(()) => {}
        Err(error) if error.kind() == io::ErrorKind::AlreadyExists => {}
        Err(error) => return Err(error).context("create the store directory", &root),
    }
    check_ownership(&root)?;
    let directory = StoreDirectory::new(&root);
    for path in directory.directories() {
        match DirBuilder::new().mode(0o700).create(&path) {
            Ok(()) => {}
            Err(error) if error.kind() == io::ErrorKind::AlreadyExists => {}
            Err(error) => return Err(error).context("create directory", &path),
        }
    }
    let version_path = directory.version_path();
    match fs::read_to_string(&version_path) {
        Ok(found) if found.trim() == STORE_VERSION.to_string() => {}
        Ok(found) => {
            return Err(Error::NewerLayout { path: root, found: found.trim().to_owned(), supported: STORE_VERSION });
        }
        Err(error) if error.kind() == io::ErrorKind::NotFound => {
            write_if_absent(&version_path, format!("{STORE_VERSION}\n").as_bytes())?;
        }
        Err(error) => return Err(error).context("read", &version_path),
    }
    tag_cache_directory(&root, "cargo-store")?;
    Ok(directory)
}

fn write_if_absent(path: &Path, bytes: &[u8]) -> crate::Result<()> {
    match write_new(path, bytes, 0o644, None) {
        Ok(()) => Ok(()),
        Err(error) if error.io_error().is_some_and(|e| e.kind() == io::ErrorKind::AlreadyExists) => Ok(()),
        Err(error) => Err(error.into()),
    }
}

/// Refuses a store owned by another user, or writable by others: anyone who can write it can
/// put code into every build that uses it.
fn check_ownership(root: &Path) -> crate::Result<()> {
    let metadata = fs::metadata(root).context("read metadata of", root)?;
    let user = current_user();
    if metadata.uid() != user {
        return Err(Error::Unsafe {
            path: root.to_path_buf(),
            problem: format!("is owned by user {} but cargo-store runs as user {user}", metadata.uid()),
            hint: "every user needs a store of their own: set CARGO_STORE_DIR or pass `--store` to a directory you own"
                .to_owned(),
        });
    }
    if metadata.mode() & 0o022 != 0 {
        return Err(Error::Unsafe {
            path: root.to_path_buf(),
            problem: format!("is writable by other users (mode {:o})", metadata.mode() & 0o777),
            hint: format!("run `chmod 700 {}`", root.display()),
        });
    }
    Ok(())
}

/// The effective user id of this process.
fn current_user() -> u32 {
    rustix::process::geteuid().as_raw()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn open(root: &Path) -> Store {
        Store::open(root, Access::Shared, &mut |_| {}).expect("open store")
    }

    #[test]
    fn a_new_store_is_private_and_tagged() {
        let directory = tempfile::tempdir().expect("tempdir");
        let root = directory.path().join("store");
        let store = open(&root);
        let mode = fs::metadata(store.root()).expect("stat").mode() & 0o777;
        assert_eq!(mode, 0o700);
        assert!(
            fs::read_to_string(root.join("CACHEDIR.TAG"))
                .expect("tag")
                .starts_with(cargo_store_fs::CACHEDIR_TAG_SIGNATURE)
        );
        assert_eq!(fs::read_to_string(root.join("VERSION")).expect("version").trim(), "1");
    }

    #[test]
    fn opening_an_existing_store_creates_nothing_where_there_is_none() {
        let directory = tempfile::tempdir().expect("tempdir");
        let root = directory.path().join("typo").join("store");
        let error = Store::open_existing(&root, Access::Shared, &mut |_| {}).err().expect("no store");
        assert!(matches!(&error, Error::NoStore { path, .. } if *path == root), "{error}");
        assert!(error.hint().is_some_and(|hint| hint.contains("cargo store ingest")), "{error:?}");
        assert!(!directory.path().join("typo").exists());

        let empty = directory.path().join("empty");
        fs::create_dir(&empty).expect("mkdir");
        let error = Store::try_open_existing(&empty, Access::Shared).err().expect("no store");
        assert!(error.to_string().contains("holds no store"), "{error}");
        assert_eq!(fs::read_dir(&empty).expect("read").count(), 0, "nothing written into it");

        drop(open(&root));
        let store = Store::open_existing(&root, Access::Shared, &mut |_| {}).expect("open the store made meanwhile");
        assert_eq!(store.root(), root);
    }

    #[test]
    fn spellings_of_one_directory_normalize_alike() {
        let directory = tempfile::tempdir().expect("tempdir");
        let base = directory.path().canonicalize().expect("canonicalize");
        fs::create_dir_all(base.join("x").join("target")).expect("mkdir");
        std::os::unix::fs::symlink(base.join("x"), base.join("link")).expect("symlink");
        let expected = base.join("x").join("target");
        for spelling in
            [base.join("x/./target"), base.join("x/sub/../target"), base.join("link/target"), base.join("x/target/")]
        {
            assert_eq!(normalize_path(&spelling).expect("normalize"), expected, "{}", spelling.display());
        }
        let gone = base.join("link/../x/gone/./target");
        assert_eq!(normalize_path(&gone).expect("normalize"), base.join("x/gone/target"));
    }

    #[test]
    fn a_world_writable_store_is_refused() {
        let directory = tempfile::tempdir().expect("tempdir");
        let root = directory.path().join("store");
        drop(open(&root));
        fs::set_permissions(&root, fs::Permissions::from_mode(0o777)).expect("chmod");
        let error = Store::open(&root, Access::Shared, &mut |_| {}).err().expect("refused");
        assert!(error.to_string().contains("writable by other users"), "{error}");
    }

    #[test]
    #[ignore = "needs root"]
    fn a_store_owned_by_another_user_is_refused() {
        assert_eq!(current_user(), 0, "only root can give a directory to another user: run this test as root");
        let directory = tempfile::tempdir().expect("tempdir");
        let root = directory.path().join("store");
        drop(open(&root));
        std::os::unix::fs::chown(&root, Some(65534), Some(65534)).expect("chown");
        let error = Store::open(&root, Access::Shared, &mut |_| {}).err().expect("refused");
        let message = error.to_string();
        assert!(message.contains("is owned by user 65534"), "{message}");
        assert!(error.hint().is_some_and(|hint| hint.contains("a store of their own")), "{error:?}");
    }

    #[test]
    fn objects_are_read_only_with_the_recorded_mtime_and_never_clobbered() {
        let directory = tempfile::tempdir().expect("tempdir");
        let store = open(&directory.path().join("store"));
        let source = directory.path().join("file");
        fs::write(&source, b"content").expect("write");
        let times = FileTimes { modified_ns: 1_650_000_000_000_000_123 };
        set_times(&source, times).expect("times");
        let id = ObjectId::of_bytes(b"content", false);
        let inode = fs::metadata(&source).expect("stat").ino();
        let from = ObjectSource {
            path: &source,
            identity: FileIdentity { size: 7, inode, times },
            hardlink: false,
            writable: false,
        };
        let first = store.directory().store(id, &from).expect("store");
        assert!(first.created);
        let path = store.directory().object_path(&id);
        let metadata = fs::metadata(&path).expect("stat object");
        assert_eq!(metadata.mode() & 0o777, 0o444);
        assert_eq!(FileTimes::of(&metadata), times);
        assert_ne!(metadata.ino(), inode, "a copy, not the source inode");
        let second = store.directory().store(id, &from).expect("store again");
        assert!(!second.created);
        assert_eq!(second.record.inode, first.record.inode);
    }

    #[test]
    fn bytes_that_do_not_match_their_hash_are_not_stored() {
        let directory = tempfile::tempdir().expect("tempdir");
        let store = open(&directory.path().join("store"));
        let source = directory.path().join("file");
        fs::write(&source, b"changed").expect("write");
        let id = ObjectId::of_bytes(b"original", false);
        let inode = fs::metadata(&source).expect("stat").ino();
        let from = ObjectSource {
            path: &source,
            identity: FileIdentity { size: 7, inode, times: FileTimes { modified_ns: 0 } },
            hardlink: false,
            writable: false,
        };
        let error = store.directory().store(id, &from).err();
        assert!(matches!(error, Some(Error::Changed { .. })));
        assert!(!store.directory().object_path(&id).exists());
        assert_eq!(fs::read_dir(store.directory().tmp()).expect("tmp").count(), 0);
    }
}
