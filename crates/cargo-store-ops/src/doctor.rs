//! `doctor`: will cargo-store work well here, and what should change if not.
//!
//! Every finding is a [`Check`]: a stable name, `ok`, `warning` or `error`, one line of detail
//! and, when it is not ok, a hint saying what to do. An error means a command will fail (an
//! unsafe store, a lock that cannot be taken, no rustc); a warning means commands work but
//! less well than they could (every file copied because the store is on another filesystem, a
//! store in memory, little free space).
//!
//! ```text
//! store             exists (or will be created), owned by this user, not writable by others
//! lock              shared and exclusive try-locks (busy is fine: another command runs)
//! store-filesystem  its type and mount point; warns for tmpfs and network filesystems
//! store-space       free space where the store grows
//! index             what the store holds
//! workspace         the Cargo project here and its build directory (a warning outside one)
//! build-filesystem  the build directory's filesystem, the same as the store's or not
//! link-modes        reflink and hard link PROBED from the store's tmp/ into the build directory
//! toolchain         the toolchain namespace, and the units stored for this workspace with it
//! ```
//!
//! Doctor changes nothing a user keeps: it never creates the store (a missing store is checked
//! through its nearest existing parent), never waits for the store lock, never holds it while
//! cargo runs, and removes the probe files it makes (named like every temporary file of
//! cargo-store, so a killed probe leaves nothing that ingest or gc mistakes for data).

use std::io;
use std::path::{Path, PathBuf};

use cargo_store_cas::{Access, Store, StoreDirectory};
use cargo_store_fs::{Filesystem, LinkProbe, filesystem, nearest_existing, probe_links};
use cargo_store_units::{Toolchain, Workspace};
use serde::Serialize;

use crate::REPORT_VERSION;

/// Below this much free space where the store grows, doctor warns.
pub const LOW_SPACE: u64 = 1 << 30;

/// Filesystems known to clone files (reflink): named in advice when they would help.
const REFLINK_FILESYSTEMS: [&str; 5] = ["btrfs", "xfs", "bcachefs", "zfs", "apfs"];

/// Filesystems reached over a network (or through FUSE to one): locks and links are unreliable.
/// The names are those of Linux's mount table and of macOS's `statfs` (`smbfs`, `afpfs`,
/// `webdav`, `nfs`).
const NETWORK_FILESYSTEMS: [&str; 12] =
    ["nfs", "nfs4", "cifs", "smb3", "smbfs", "afpfs", "webdav", "9p", "ceph", "glusterfs", "fuse.sshfs", "fuse.rclone"];

/// Where reflinks are to be had on this platform, for advice: clones need one filesystem that
/// has them under both the store and the worktrees.
const CLONING_FILESYSTEM: &str =
    if cfg!(target_os = "macos") { "one APFS volume" } else { "one XFS or Btrfs filesystem" };

/// Why hard links may be refused on one filesystem, for advice: Linux's
/// `fs.protected_hardlinks` refuses links to files of other users; macOS has no such switch.
const HARDLINK_REFUSALS: &str = if cfg!(target_os = "linux") {
    "hard links can be refused by the filesystem or by `fs.protected_hardlinks` for files you do not own"
} else {
    "hard links can be refused by the filesystem (exFAT, FAT, some network shares) or for files you do not own"
};

/// What to check.
#[derive(Debug, Clone)]
pub struct DoctorOptions {
    /// The store directory (it need not exist).
    pub store: PathBuf,
    /// `--manifest-path`: the worktree whose build directory is checked.
    pub manifest_path: Option<PathBuf>,
    /// `--target-dir`.
    pub target_directory: Option<PathBuf>,
    /// The remote to check, if one is configured.
    pub remote: Option<String>,
    /// `--push`: also check that this machine can write to the remote (one small object,
    /// written and deleted: the only thing doctor ever writes).
    pub push: bool,
}

/// How one check came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum CheckStatus {
    /// Works as it should.
    Ok,
    /// Works, but less well than it could; the hint says how to do better.
    Warning,
    /// A command will fail; the hint says what to fix.
    Error,
}

/// One finding.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Check {
    /// A stable name: `store`, `lock`, `store-filesystem`, `store-space`, `index`, `workspace`,
    /// `build-filesystem`, `link-modes`, `toolchain`, `remote`, `remote-write` (in that order;
    /// checks that do not apply are left out).
    pub name: &'static str,
    /// Ok, warning or error.
    pub status: CheckStatus,
    /// What was found, in one line.
    pub detail: String,
    /// What to do, when the status is not ok.
    pub hint: Option<String>,
}

impl Check {
    pub(crate) fn ok(name: &'static str, detail: impl Into<String>) -> Check {
        Check { name, status: CheckStatus::Ok, detail: detail.into(), hint: None }
    }

    pub(crate) fn warning(name: &'static str, detail: impl Into<String>, hint: impl Into<String>) -> Check {
        Check { name, status: CheckStatus::Warning, detail: detail.into(), hint: Some(hint.into()) }
    }

    pub(crate) fn error(name: &'static str, detail: impl Into<String>, hint: Option<String>) -> Check {
        Check { name, status: CheckStatus::Error, detail: detail.into(), hint }
    }
}

/// Which link modes the probe found working from the store into the build directory.
#[derive(Debug, Clone, Copy, Serialize, schemars::JsonSchema)]
pub struct LinkSupport {
    /// A copy-on-write clone worked.
    pub reflink: bool,
    /// A hard link worked.
    pub hardlink: bool,
    /// The store and the build directory are on one filesystem (one device).
    pub same_filesystem: bool,
}

/// What `cargo store doctor` found.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct DoctorReport {
    /// Schema version of this report.
    pub version: u32,
    /// The store directory (absolute).
    pub store: PathBuf,
    /// The workspace root, when run in a Cargo project.
    pub workspace: Option<PathBuf>,
    /// Its build directory, where checkout places files.
    pub build_directory: Option<PathBuf>,
    /// The toolchain namespace units are stored under, when rustc answered.
    pub toolchain: Option<String>,
    /// The probed link modes, when there was a build directory to probe.
    pub links: Option<LinkSupport>,
    /// Every check, in the order they are printed.
    pub checks: Vec<Check>,
}

impl DoctorReport {
    /// How many checks have `status`.
    pub fn count(&self, status: CheckStatus) -> usize {
        self.checks.iter().filter(|check| check.status == status).count()
    }

    /// Whether no check is an error (warnings allowed): the exit code is 0 then, else 1.
    pub fn healthy(&self) -> bool {
        self.count(CheckStatus::Error) == 0
    }
}

/// The store as the checks found it.
enum StoreState {
    /// Not created yet: the first ingest or checkout creates it.
    Missing,
    /// Cannot be used (unsafe, not a directory, from a newer cargo-store, read-only...).
    Unusable,
    /// Usable; open with a shared lock when that lock was free.
    Usable(Option<Store>),
}

/// Runs every check. Problems are findings in the report, not errors: this fails only if the
/// store path cannot even be made absolute.
pub fn doctor(options: &DoctorOptions) -> crate::Result<DoctorReport> {
    let store = std::path::absolute(&options.store)
        .map_err(|source| cargo_store_fs::Error::io("make absolute", &options.store, source))?;
    // Cargo and rustc run first, before the store lock is taken: a lock is never held while
    // cargo runs.
    let (workspace, workspace_check) = load_workspace(options);
    let toolchain_directory = match &workspace {
        Some(workspace) => workspace.root.clone(),
        None => std::env::current_dir().unwrap_or_else(|_| PathBuf::from(".")),
    };
    let toolchain = Toolchain::detect(&toolchain_directory);

    let mut checks = Vec::new();
    let state = check_store(&store, &mut checks);
    let store_filesystem = check_store_filesystem(&store, &mut checks);
    let mut opened = match state {
        StoreState::Usable(opened) => {
            check_index(opened.as_ref(), &mut checks);
            Some(opened)
        }
        StoreState::Missing | StoreState::Unusable => None,
    };

    checks.push(workspace_check);
    let mut links = None;
    if let Some(workspace) = &workspace {
        let build = filesystem(&workspace.build_directory);
        checks.push(build_filesystem_check(&workspace.build_directory, &build, store_filesystem.as_ref()));
        let from = match &opened {
            Some(_) => StoreDirectory::new(&store).tmp(),
            // Never write into a store that is not there yet, nor into one found unsafe: their
            // parent is on the same filesystem.
            None => nearest_existing(store.parent().unwrap_or(&store)),
        };
        let to = nearest_existing(&workspace.build_directory);
        let same_filesystem = match (&build, &store_filesystem) {
            (Ok(build), Some(store)) => build.device == store.device,
            _ => false,
        };
        let probe = probe_links(&from, &to);
        if let Ok(probe) = &probe {
            links =
                Some(LinkSupport { reflink: probe.reflink.is_ok(), hardlink: probe.hardlink.is_ok(), same_filesystem });
        }
        checks.push(link_check(probe, &workspace.build_directory, build.as_ref().ok(), store_filesystem.as_ref()));
    }

    let namespace = toolchain.as_ref().ok().map(Toolchain::namespace);
    checks.push(match toolchain {
        Ok(toolchain) => {
            let stored = match (&mut opened, &workspace) {
                (Some(Some(store)), Some(workspace)) => Some(stored_units(store, &toolchain.namespace(), workspace)),
                _ => None,
            };
            let mut detail = format!("units are stored under `{}`", toolchain.namespace());
            match stored {
                Some(Ok((units, packages))) => detail.push_str(&format!(
                    "; the store has {units} units for this workspace's {packages} registry and git packages built by it"
                )),
                Some(Err(error)) => detail.push_str(&format!("; stored units not counted: {}", describe(&error).0)),
                None => {}
            }
            Check::ok("toolchain", detail)
        }
        Err(error) => {
            let (detail, hint) = describe(&error);
            Check::error("toolchain", detail, hint)
        }
    });

    if let Some(remote) = &options.remote {
        checks.extend(crate::remote::doctor_checks(remote, namespace.as_deref(), options.push));
    }

    Ok(DoctorReport {
        version: REPORT_VERSION,
        store,
        build_directory: workspace.as_ref().map(|workspace| workspace.build_directory.clone()),
        workspace: workspace.map(|workspace| workspace.root),
        toolchain: namespace,
        links,
        checks,
    })
}

/// The workspace and the `workspace` check. Outside a Cargo project that is a warning (doctor
/// still checks the store); a project whose metadata cargo cannot read is an error, because
/// ingest and checkout would fail the same way.
fn load_workspace(options: &DoctorOptions) -> (Option<Workspace>, Check) {
    match Workspace::load(options.manifest_path.as_deref(), options.target_directory.as_deref()) {
        Ok(workspace) => {
            let mut detail =
                format!("`{}` builds into `{}`", workspace.root.display(), workspace.build_directory.display());
            if workspace.build_directory != workspace.target_directory {
                detail.push_str(&format!(" (final artifacts in `{}`)", workspace.target_directory.display()));
            }
            if !workspace.build_directory.exists() {
                detail.push_str("; not built yet");
            }
            let check = Check::ok("workspace", detail);
            (Some(workspace), check)
        }
        Err(error) => {
            let current = std::env::current_dir().unwrap_or_default();
            let in_project = current.ancestors().any(|directory| directory.join("Cargo.toml").is_file());
            if options.manifest_path.is_none() && !in_project {
                let check = Check::warning(
                    "workspace",
                    format!(
                        "not in a Cargo project (no Cargo.toml in `{}` or above): the build directory checks are skipped",
                        current.display()
                    ),
                    "run `cargo store doctor` in a worktree, or pass `--manifest-path path/to/Cargo.toml`, to check how checkout will place files there",
                );
                return (None, check);
            }
            let (detail, hint) = describe(&error);
            (None, Check::error("workspace", detail, hint))
        }
    }
}

/// The `store` check and, for an existing store, `lock`: the store is opened with a try-lock,
/// exclusive then shared, which applies the store's own safety rules (owner, mode, layout
/// version) without ever waiting.
fn check_store(store: &Path, checks: &mut Vec<Check>) -> StoreState {
    let metadata = match std::fs::metadata(store) {
        Ok(metadata) => metadata,
        Err(error) if error.kind() == io::ErrorKind::NotFound => {
            checks.push(Check::ok(
                "store",
                format!("`{}` does not exist yet: the first ingest creates it (mode 700)", store.display()),
            ));
            return StoreState::Missing;
        }
        Err(error) => {
            checks.push(Check::error(
                "store",
                format!("cannot read `{}`: {error}", store.display()),
                Some("fix the permissions of its parent directories, or choose another store with `--store DIR` or CARGO_STORE_DIR".to_owned()),
            ));
            return StoreState::Unusable;
        }
    };
    if !metadata.is_dir() {
        checks.push(Check::error(
            "store",
            format!("`{}` exists but is not a directory", store.display()),
            Some("move it away, or choose another store with `--store DIR` or CARGO_STORE_DIR".to_owned()),
        ));
        return StoreState::Unusable;
    }
    let exclusive = match Store::try_open(store, Access::Exclusive) {
        Ok(Some(opened)) => {
            drop(opened);
            Lock::Free
        }
        Ok(None) => Lock::Busy,
        Err(error) => return store_failure(store, &error, checks),
    };
    let (shared, opened) = match Store::try_open(store, Access::Shared) {
        Ok(Some(opened)) => (Lock::Free, Some(opened)),
        Ok(None) => (Lock::Busy, None),
        Err(error) => return store_failure(store, &error, checks),
    };
    checks.push(Check::ok("store", store_detail(store, &metadata)));
    let lock = StoreDirectory::new(store).lock_path();
    checks.push(Check::ok(
        "lock",
        match (exclusive, shared) {
            (Lock::Free, _) => format!("shared and exclusive locks on `{}` work", lock.display()),
            (Lock::Busy, Lock::Free) => format!(
                "`{}` is in use by another cargo-store command (an ingest or checkout); shared locking works",
                lock.display()
            ),
            (Lock::Busy, Lock::Busy) => format!(
                "`{}` is in use by another cargo-store command (garbage collection); the index was not read",
                lock.display()
            ),
        },
    ));
    StoreState::Usable(opened)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Lock {
    Free,
    Busy,
}

/// `owned by you, mode 700`.
fn store_detail(store: &Path, metadata: &std::fs::Metadata) -> String {
    use std::os::unix::fs::MetadataExt;
    format!("`{}`: owned by you, mode {:o}", store.display(), metadata.mode() & 0o777)
}

/// Sorts a failure to open an existing store into the check it belongs to.
fn store_failure(store: &Path, error: &cargo_store_cas::Error, checks: &mut Vec<Check>) -> StoreState {
    use cargo_store_cas::Error;
    let (detail, hint) = describe(error);
    let lock = StoreDirectory::new(store).lock_path();
    match error {
        // The index is opened last, after the checks and the lock succeeded.
        Error::Index { .. } | Error::NewerSchema { .. } => {
            if let Ok(metadata) = std::fs::metadata(store) {
                checks.push(Check::ok("store", store_detail(store, &metadata)));
            }
            checks.push(Check::ok("lock", format!("locks on `{}` work", lock.display())));
            checks.push(Check::error("index", detail, hint));
        }
        Error::Filesystem(cargo_store_fs::Error::Io { path, .. }) if *path == lock => {
            checks.push(Check::error(
                "lock",
                detail,
                Some(hint.unwrap_or_else(|| {
                    "file locks (flock) do not work there, as on some network filesystems: put the store on a local disk with `--store DIR` or CARGO_STORE_DIR".to_owned()
                })),
            ));
        }
        _ => checks.push(Check::error("store", detail, hint)),
    }
    StoreState::Unusable
}

/// `store-filesystem` and `store-space`; returns the filesystem for the checks that compare.
fn check_store_filesystem(store: &Path, checks: &mut Vec<Check>) -> Option<Filesystem> {
    let found = match filesystem(store) {
        Ok(found) => found,
        Err(error) => {
            let (detail, _) = describe(&error);
            checks.push(Check::warning(
                "store-filesystem",
                detail,
                "doctor could not tell which filesystem holds the store; cargo-store may still work",
            ));
            return None;
        }
    };
    let kind = found.kind.clone().unwrap_or_else(|| "unknown".to_owned());
    let place = describe_filesystem(&found);
    let better = "put the store on a local disk, beside your worktrees: `--store DIR` or CARGO_STORE_DIR";
    checks.push(if kind == "tmpfs" || kind == "ramfs" {
        Check::warning(
            "store-filesystem",
            format!("the store is on {place}: it lives in memory and is emptied at every reboot"),
            better,
        )
    } else if NETWORK_FILESYSTEMS.contains(&kind.as_str()) {
        Check::warning(
            "store-filesystem",
            format!(
                "the store is on {place}, a network filesystem: file locks and hard links may be unreliable, and every read crosses the network"
            ),
            better,
        )
    } else {
        let clones = if REFLINK_FILESYSTEMS.contains(&kind.as_str()) { " (it can clone files)" } else { "" };
        Check::ok("store-filesystem", format!("the store is on {place}{clones}"))
    });
    let space = format!(
        "{} free of {} on the store's filesystem",
        crate::format_bytes(found.available_bytes),
        crate::format_bytes(found.total_bytes)
    );
    checks.push(if found.available_bytes < LOW_SPACE {
        Check::warning(
            "store-space",
            format!("only {space}: ingest fails when the disk is full"),
            "free some space there, bound the store with `cargo store gc --max-size SIZE`, or move it with `--store DIR`",
        )
    } else {
        Check::ok("store-space", space)
    });
    Some(found)
}

/// `index`: what the store holds.
fn check_index(opened: Option<&Store>, checks: &mut Vec<Check>) {
    let Some(opened) = opened else { return };
    checks.push(match opened.index().totals() {
        Ok(totals) => Check::ok(
            "index",
            format!(
                "{} units, {} objects ({}), {} registered build directories",
                totals.units,
                totals.objects,
                crate::format_bytes(totals.object_bytes),
                totals.roots
            ),
        ),
        Err(error) => {
            let (detail, hint) = describe(&error);
            Check::error("index", detail, hint)
        }
    });
}

/// `build-filesystem`: where checkout writes, next to where the store is. A fact, not a
/// verdict: `link-modes` says what it means for checkout.
fn build_filesystem_check(
    build_directory: &Path,
    build: &cargo_store_fs::Result<Filesystem>,
    store: Option<&Filesystem>,
) -> Check {
    let build = match build {
        Ok(build) => build,
        Err(error) => {
            return Check::warning(
                "build-filesystem",
                describe(error).0,
                "doctor could not tell which filesystem holds the build directory; checkout probes it itself",
            );
        }
    };
    let mut detail = format!("`{}`", build_directory.display());
    if build.path != build_directory {
        detail.push_str(&format!(" (not created yet; looked at `{}`)", build.path.display()));
    }
    detail.push_str(&format!(" is on {}", describe_filesystem(build)));
    match store {
        Some(store) if store.device == build.device => detail.push_str(", the store's filesystem"),
        Some(store) => detail.push_str(&format!(", not the store's ({})", describe_filesystem(store))),
        None => {}
    }
    Check::ok("build-filesystem", detail)
}

/// `link-modes`: what the probe found, and what checkout will therefore do.
fn link_check(
    probe: cargo_store_fs::Result<LinkProbe>,
    build_directory: &Path,
    build: Option<&Filesystem>,
    store: Option<&Filesystem>,
) -> Check {
    let probe = match probe {
        Ok(probe) => probe,
        Err(error) => {
            return Check::warning(
                "link-modes",
                format!("could not probe link modes: {}", describe(&error).0),
                "check that you can write in the store's directory; checkout probes the link modes itself on its first file",
            );
        }
    };
    let elsewhere = match build.and_then(|build| build.mount_point.as_ref()) {
        Some(mount) => format!(
            "keep the store on the worktrees' filesystem: pass `--store DIR` or set CARGO_STORE_DIR to a directory under `{}`",
            mount.display()
        ),
        None => "keep the store on the worktrees' filesystem: `--store DIR` or CARGO_STORE_DIR".to_owned(),
    };
    let to = format!("`{}`", build_directory.display());
    match (&probe.reflink, &probe.hardlink) {
        (Ok(()), hardlink) => Check::ok(
            "link-modes",
            format!(
                "reflinks work from the store to {to}{}: checkout clones .rlib/.rmeta files, binaries and OUT_DIR files (no bytes copied, no inode shared) and copies only metadata",
                if hardlink.is_ok() { " (hard links too)" } else { "" }
            ),
        ),
        (Err(reflink), Ok(())) => {
            let kind = build.and_then(|build| build.kind.as_deref()).unwrap_or("this filesystem");
            let mut detail = format!(
                "hard links work from the store to {to}, reflinks do not ({reflink}): checkout hard-links .rlib/.rmeta files and copies the rest"
            );
            if !REFLINK_FILESYSTEMS.contains(&kind) {
                detail.push_str(&format!(
                    "; reflinks would make those copies free ({kind} has none): put the store and the worktrees on {CLONING_FILESYSTEM}"
                ));
            }
            Check::ok("link-modes", detail)
        }
        (Err(reflink), Err(hardlink)) => {
            let crossing = [reflink, hardlink].iter().any(|error| error.kind() == io::ErrorKind::CrossesDevices)
                || matches!((build, store), (Some(build), Some(store)) if build.device != store.device);
            if crossing {
                let names = |found: Option<&Filesystem>| {
                    found.and_then(|found| found.kind.clone()).unwrap_or_else(|| "unknown".to_owned())
                };
                Check::warning(
                    "link-modes",
                    format!(
                        "the store ({}) and {to} ({}) are on different filesystems, which neither reflinks nor hard links cross: checkout falls back to copy for every file, which costs the bytes and the time",
                        names(store),
                        names(build)
                    ),
                    elsewhere,
                )
            } else if [reflink, hardlink]
                .iter()
                .any(|error| matches!(error.kind(), io::ErrorKind::ReadOnlyFilesystem | io::ErrorKind::NotFound))
                || (hardlink.kind() == io::ErrorKind::PermissionDenied && reflink.kind() == hardlink.kind())
            {
                Check::warning(
                    "link-modes",
                    format!("cannot create files in `{}`: {hardlink}", probe.to.display()),
                    "checkout writes there: fix its permissions, or pass `--target-dir` to a directory you can write",
                )
            } else {
                Check::warning(
                    "link-modes",
                    format!(
                        "neither reflinks ({reflink}) nor hard links ({hardlink}) work from the store to {to}: checkout falls back to copy for every file"
                    ),
                    format!("{HARDLINK_REFUSALS}; {elsewhere}"),
                )
            }
        }
    }
}

/// How many stored units checkout would consider for this workspace: those of its registry
/// and git packages (selected as checkout selects them) built by this toolchain. Uses the
/// same query as checkout, in a transaction that is rolled back.
fn stored_units(store: &mut Store, namespace: &str, workspace: &Workspace) -> cargo_store_cas::Result<(usize, usize)> {
    let packages = crate::checkout::storable_packages(workspace);
    let transaction = store.index_mut().transaction()?;
    let units = transaction.units_for_packages(namespace, &packages)?;
    Ok((units.len(), packages.len()))
}

/// `ext4 at `/``.
fn describe_filesystem(found: &Filesystem) -> String {
    let kind = found.kind.as_deref().unwrap_or("an unknown filesystem");
    match &found.mount_point {
        Some(mount) => format!("{kind} at `{}`", mount.display()),
        None => kind.to_owned(),
    }
}

/// An error as one line of detail and its hint: the messages of this project put what to do
/// on a last `hint:` line, and a cause often repeats its source's text.
fn describe(error: &(dyn std::error::Error + 'static)) -> (String, Option<String>) {
    let mut parts: Vec<String> = Vec::new();
    let mut hint = None;
    let mut cause = Some(error);
    while let Some(current) = cause {
        if let Some(text) = crate::hint_of(current) {
            hint.get_or_insert(text);
        }
        for line in current.to_string().lines() {
            match line.strip_prefix("hint: ") {
                Some(text) => {
                    hint.get_or_insert_with(|| text.to_owned());
                }
                None if !line.is_empty() && !parts.iter().any(|part| part.contains(line)) => {
                    parts.push(line.to_owned())
                }
                None => {}
            }
        }
        cause = current.source();
    }
    (parts.join(": "), hint)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(store: &Path) -> DoctorOptions {
        // No manifest: the current directory of `cargo test` is this crate, a Cargo project.
        DoctorOptions {
            store: store.to_path_buf(),
            manifest_path: None,
            target_directory: None,
            remote: None,
            push: false,
        }
    }

    fn check<'r>(report: &'r DoctorReport, name: &str) -> &'r Check {
        report.checks.iter().find(|check| check.name == name).unwrap_or_else(|| panic!("no {name} check: {report:#?}"))
    }

    #[test]
    fn a_missing_store_is_fine_and_is_not_created() -> crate::Result<()> {
        let directory = tempfile::tempdir().expect("temporary directory");
        let store = directory.path().join("store");
        let report = doctor(&options(&store))?;
        assert!(!store.exists(), "doctor created the store");
        assert_eq!(check(&report, "store").status, CheckStatus::Ok, "{report:#?}");
        assert!(report.checks.iter().all(|check| check.name != "lock"), "{report:#?}");
        assert_eq!(std::fs::read_dir(directory.path()).expect("list").count(), 0, "the probe left a file");
        Ok(())
    }

    #[test]
    fn a_world_writable_store_is_an_error_with_the_chmod_hint() -> crate::Result<()> {
        use std::os::unix::fs::PermissionsExt;
        let directory = tempfile::tempdir().expect("temporary directory");
        let store = directory.path().join("store");
        drop(Store::open(&store, Access::Shared, &mut |_| {})?);
        std::fs::set_permissions(&store, std::fs::Permissions::from_mode(0o777)).expect("chmod");
        let report = doctor(&options(&store))?;
        let found = check(&report, "store");
        assert_eq!(found.status, CheckStatus::Error, "{report:#?}");
        assert!(found.detail.contains("writable by other users"), "{found:?}");
        assert!(found.hint.as_deref().is_some_and(|hint| hint.contains("chmod 700")), "{found:?}");
        assert!(!report.healthy());
        Ok(())
    }

    #[test]
    fn a_busy_store_is_not_an_error() -> crate::Result<()> {
        let directory = tempfile::tempdir().expect("temporary directory");
        let store = directory.path().join("store");
        let holder = Store::open(&store, Access::Shared, &mut |_| {})?;
        let report = doctor(&options(&store))?;
        let lock = check(&report, "lock");
        assert_eq!(lock.status, CheckStatus::Ok, "{report:#?}");
        assert!(lock.detail.contains("in use by another cargo-store command"), "{lock:?}");
        drop(holder);
        Ok(())
    }

    #[test]
    fn errors_become_one_line_and_a_hint() {
        let error = cargo_store_cas::Error::NoLocation;
        let (detail, hint) = describe(&error);
        assert!(!detail.contains('\n') && detail.starts_with("no store location"), "{detail}");
        assert_eq!(hint.as_deref(), Some("pass `--store DIR` or set CARGO_STORE_DIR"));
        assert_eq!(crate::format_bytes(1536), "1.5 KiB");
    }
}
