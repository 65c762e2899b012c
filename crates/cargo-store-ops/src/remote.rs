//! `pull` and `push`: the local store filled from a remote, and a remote from the local store.
//!
//! The remote's layout and protocol are `cargo-store-remote`'s; this module decides which
//! units move. Pull takes the units of the workspace's registry and git packages for this
//! toolchain and `CARGO_HOME` (every variant pushed for the workspace's resolve, or per
//! package when no machine pushed that resolve), with the stored dependencies they need, and
//! puts them into the local store as an ingest would: each object checked against its blake3
//! before it gets its name, each unit committed after its dependencies, a unit with a missing
//! or damaged object left out with everything above it. Push uploads the workspace's units (or
//! all of them) that the remote lacks, objects first, then manifests dependencies first, then
//! the index of the resolve.
//!
//! A remote that fails costs a warning, never the command that pulled in passing (checkout,
//! ingest and exec with `--push`): those go on with the local store. The explicit `pull` and
//! `push` fail, so that a script learns that nothing moved.

use std::path::PathBuf;
use std::time::Instant;

use serde::Serialize;

use crate::Error;

/// The environment variable that names the remote.
pub const REMOTE_VARIABLE: &str = "CARGO_STORE_REMOTE";

/// The environment variable that makes `ingest` and `exec` push (for CI).
pub const PUSH_VARIABLE: &str = "CARGO_STORE_REMOTE_PUSH";

/// What to pull.
#[derive(Debug, Clone)]
pub struct PullOptions {
    /// The store directory.
    pub store: PathBuf,
    /// `--manifest-path`.
    pub manifest_path: Option<PathBuf>,
    /// `--target-dir`.
    pub target_directory: Option<PathBuf>,
    /// The remote URL.
    pub remote: String,
}

/// What to push.
#[derive(Debug, Clone)]
pub struct PushOptions {
    /// The store directory.
    pub store: PathBuf,
    /// `--manifest-path`.
    pub manifest_path: Option<PathBuf>,
    /// `--target-dir`.
    pub target_directory: Option<PathBuf>,
    /// The remote URL.
    pub remote: String,
    /// `--all`: every stored unit, not only the workspace's.
    pub all: bool,
}

/// How pull found the workspace's units on the remote.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Discovery {
    /// The index of the workspace's resolve: one request.
    ResolveIndex,
    /// No machine pushed this resolve: the markers of each package.
    Packages,
    /// The remote failed before anything was found.
    Failed,
}

/// A namespace of the remote, described.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct RemoteNamespace {
    /// The toolchain its units were built by.
    pub toolchain: String,
    /// The `CARGO_HOME` their sources were at.
    pub cargo_home: String,
}

/// Requests and bytes of one command.
#[derive(Debug, Clone, Copy, Default, Serialize, schemars::JsonSchema)]
pub struct RemoteTraffic {
    /// Requests made.
    pub requests: u64,
    /// Bytes uploaded.
    pub bytes_uploaded: u64,
    /// Bytes downloaded.
    pub bytes_downloaded: u64,
}

/// What a pull did.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct PullReport {
    /// Schema version of this report.
    pub version: u32,
    /// The remote.
    pub remote: String,
    /// This machine's namespace: the toolchain and `CARGO_HOME` units must have been built with.
    pub namespace: RemoteNamespace,
    /// How the units were found.
    pub discovery: Discovery,
    /// Units of this workspace's packages the remote has, built against its resolve.
    pub units_found: u64,
    /// Of those, units the local store had already.
    pub units_present: u64,
    /// Units added to the local store (dependencies included).
    pub units_pulled: u64,
    /// Units that could not be pulled: an object or a dependency missing or damaged.
    pub units_unavailable: u64,
    /// Objects downloaded (each checked against its hash).
    pub objects_downloaded: u64,
    /// Objects found damaged on the remote: never used.
    pub objects_damaged: Vec<String>,
    /// When nothing was found: the namespaces the remote has units of, to tell a toolchain or
    /// `CARGO_HOME` that differs.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub other_namespaces: Vec<RemoteNamespace>,
    /// Requests and bytes.
    pub traffic: RemoteTraffic,
    /// What failed, one line each.
    pub warnings: Vec<String>,
    /// Wall time.
    pub elapsed_ms: u64,
}

/// What a push did.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct PushReport {
    /// Schema version of this report.
    pub version: u32,
    /// The remote.
    pub remote: String,
    /// The namespace of this workspace's units.
    pub namespace: RemoteNamespace,
    /// Units considered.
    pub units: u64,
    /// Of those, units the remote had already.
    pub units_present: u64,
    /// Units published by this push.
    pub units_pushed: u64,
    /// Units not published: a dependency could not be.
    pub units_skipped: u64,
    /// Objects uploaded.
    pub objects_uploaded: u64,
    /// Objects the remote had already.
    pub objects_present: u64,
    /// Whether the index of this workspace's resolve was written.
    pub resolve_index: bool,
    /// Requests and bytes.
    pub traffic: RemoteTraffic,
    /// What failed, one line each.
    pub warnings: Vec<String>,
    /// Wall time.
    pub elapsed_ms: u64,
}

/// The remote to use: `--remote`, else `CARGO_STORE_REMOTE`; `None` when neither is set.
pub fn configured_remote(flag: Option<&str>) -> Option<String> {
    flag.map(str::to_owned).or_else(|| std::env::var(REMOTE_VARIABLE).ok()).filter(|value| !value.trim().is_empty())
}

/// Whether `CARGO_STORE_REMOTE_PUSH` asks ingest and exec to push.
pub fn push_requested() -> bool {
    std::env::var(PUSH_VARIABLE).is_ok_and(|value| matches!(value.trim(), "1" | "true" | "yes"))
}

/// Pulls the units this workspace can use into the local store; fails when the remote does.
pub fn pull(options: &PullOptions, waiting: &mut dyn FnMut(&str)) -> crate::Result<PullReport> {
    let start = Instant::now();
    let workspace =
        crate::load_workspace(&options.store, options.manifest_path.as_deref(), options.target_directory.as_deref())?;
    let mut report = implementation::pull_workspace(&options.store, &workspace, &options.remote, waiting)?;
    report.elapsed_ms = crate::elapsed_ms(start);
    match report.warnings.first() {
        Some(first) if report.units_found == 0 => Err(Error::Remote { message: first.clone() }),
        _ => Ok(report),
    }
}

/// Pushes the workspace's units (or all) that the remote lacks; fails when the remote does.
pub fn push(options: &PushOptions, waiting: &mut dyn FnMut(&str)) -> crate::Result<PushReport> {
    let start = Instant::now();
    let workspace =
        crate::load_workspace(&options.store, options.manifest_path.as_deref(), options.target_directory.as_deref());
    let workspace = match workspace {
        Ok(workspace) => Some(workspace),
        Err(_) if options.all => None,
        Err(error) => return Err(error),
    };
    let mut report =
        implementation::push_units(&options.store, workspace.as_ref(), &options.remote, options.all, waiting)?;
    report.elapsed_ms = crate::elapsed_ms(start);
    match report.warnings.first() {
        Some(first) => Err(Error::Remote { message: first.clone() }),
        None => Ok(report),
    }
}

/// What checkout, ingest and exec do in passing: the same, with failures as warnings.
pub(crate) fn pull_in_passing(
    store: &std::path::Path,
    workspace: &cargo_store_units::Workspace,
    remote: &str,
    waiting: &mut dyn FnMut(&str),
) -> crate::Result<PullReport> {
    let start = Instant::now();
    let mut report = implementation::pull_workspace(store, workspace, remote, waiting)?;
    report.elapsed_ms = crate::elapsed_ms(start);
    Ok(report)
}

/// [`pull_in_passing`] for push.
pub(crate) fn push_in_passing(
    store: &std::path::Path,
    workspace: &cargo_store_units::Workspace,
    remote: &str,
    waiting: &mut dyn FnMut(&str),
) -> crate::Result<PushReport> {
    let start = Instant::now();
    let mut report = implementation::push_units(store, Some(workspace), remote, false, waiting)?;
    report.elapsed_ms = crate::elapsed_ms(start);
    Ok(report)
}

/// The remote's checks for `doctor`: reachable, the bucket there, readable, and with `push`
/// writable; and what it holds for this machine's namespace.
pub(crate) fn doctor_checks(remote: &str, toolchain: Option<&str>, push: bool) -> Vec<crate::Check> {
    implementation::doctor_checks(remote, toolchain, push)
}

#[cfg(not(feature = "remote"))]
mod implementation {
    //! This build has no remote tier (the `remote` feature is off).

    use super::*;

    fn disabled() -> Error {
        Error::RemoteDisabled
    }

    pub(super) fn pull_workspace(
        _: &std::path::Path,
        _: &cargo_store_units::Workspace,
        _: &str,
        _: &mut dyn FnMut(&str),
    ) -> crate::Result<PullReport> {
        Err(disabled())
    }

    pub(super) fn doctor_checks(_: &str, _: Option<&str>, _: bool) -> Vec<crate::Check> {
        vec![crate::Check::error("remote", disabled().to_string(), disabled().hint())]
    }

    pub(super) fn push_units(
        _: &std::path::Path,
        _: Option<&cargo_store_units::Workspace>,
        _: &str,
        _: bool,
        _: &mut dyn FnMut(&str),
    ) -> crate::Result<PushReport> {
        Err(disabled())
    }
}

#[cfg(feature = "remote")]
mod implementation {
    use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
    use std::path::{Path, PathBuf};

    use cargo_store_cas::{Access, CacheBucket, FileIdentity, NewUnit, ObjectId, ObjectSource, Store, now};
    use cargo_store_remote::{Namespace, Remote, RemoteUrl, Settings};
    use cargo_store_units::{Toolchain, Workspace};

    use super::*;
    use crate::REPORT_VERSION;
    use crate::checkout::storable_packages;

    fn describe(namespace: &Namespace) -> RemoteNamespace {
        RemoteNamespace { toolchain: namespace.toolchain.clone(), cargo_home: namespace.cargo_home.clone() }
    }

    fn traffic(remote: &Remote) -> RemoteTraffic {
        let traffic = remote.traffic();
        RemoteTraffic {
            requests: traffic.requests,
            bytes_uploaded: traffic.bytes_uploaded,
            bytes_downloaded: traffic.bytes_downloaded,
        }
    }

    /// One line for a remote error: the error and its hint.
    fn warning(error: &cargo_store_remote::Error) -> String {
        match error.hint() {
            Some(hint) => format!("{error}\nhint: {hint}"),
            None => error.to_string(),
        }
    }

    fn namespace_of(toolchain: &str) -> Namespace {
        Namespace::new(toolchain, &cargo_store_units::cargo_home().unwrap_or_default())
    }

    fn open(url: &str) -> Result<Remote, cargo_store_remote::Error> {
        Remote::open(&RemoteUrl::parse(url)?, Settings::from_environment())
    }

    pub(super) fn doctor_checks(url: &str, toolchain: Option<&str>, push: bool) -> Vec<crate::Check> {
        use cargo_store_remote::CheckResult;
        let remote = match open(url) {
            Ok(remote) => remote,
            Err(error) => {
                let hint = error.hint().map(|hint| hint.into_owned()).unwrap_or_default();
                return vec![crate::Check::warning("remote", error.to_string(), hint)];
            }
        };
        let mut checks: Vec<crate::Check> = remote
            .check(push)
            .into_iter()
            .map(|check| {
                let name = if check.name == "remote writable" { "remote-write" } else { "remote" };
                match check.result {
                    CheckResult::Pass(detail) => crate::Check::ok(name, detail),
                    CheckResult::Warn(detail, hint) => crate::Check::warning(name, detail, hint),
                    // Every command goes on without the remote: a warning, not an error.
                    CheckResult::Fail(detail, hint) => crate::Check::warning(name, detail, hint),
                }
            })
            .collect();
        let reachable = checks.first().is_some_and(|check| check.status == crate::CheckStatus::Ok);
        // A remote nobody pushed to yet has no namespaces: nothing to compare.
        if let (Some(toolchain), true) = (toolchain, reachable) {
            let namespace = namespace_of(toolchain);
            let namespaces = remote.namespaces().unwrap_or_default();
            let known = namespaces.contains(&namespace);
            let others: Vec<String> = namespaces
                .into_iter()
                .filter(|other| *other != namespace)
                .map(|other| format!("{} with CARGO_HOME={}", other.toolchain, other.cargo_home))
                .collect();
            if let Some(first) = checks.first_mut() {
                first.detail.push_str(&format!(
                    "; {} units for this machine ({} with CARGO_HOME={})",
                    if known { "has" } else { "has no" },
                    namespace.toolchain,
                    namespace.cargo_home
                ));
                if !known && !others.is_empty() {
                    first.status = crate::CheckStatus::Warning;
                    first.hint = Some(format!(
                        "the remote has units of {}: units move only between machines with the same toolchain and the same CARGO_HOME path",
                        others.join("; ")
                    ));
                }
            }
        }
        if !push {
            checks.push(crate::Check::ok(
                "remote-write",
                "not checked (`cargo store doctor --push` writes and deletes one small object to check)",
            ));
        }
        checks
    }

    pub(super) fn pull_workspace(
        store_path: &Path,
        workspace: &Workspace,
        url: &str,
        waiting: &mut dyn FnMut(&str),
    ) -> crate::Result<PullReport> {
        let toolchain =
            Toolchain::detect_cached(&workspace.root, crate::cache(store_path, CacheBucket::Rustc).as_deref())?;
        let namespace = namespace_of(&toolchain.namespace());
        let mut report = PullReport {
            version: REPORT_VERSION,
            remote: url.to_owned(),
            namespace: describe(&namespace),
            discovery: Discovery::Failed,
            units_found: 0,
            units_present: 0,
            units_pulled: 0,
            units_unavailable: 0,
            objects_downloaded: 0,
            objects_damaged: Vec::new(),
            other_namespaces: Vec::new(),
            traffic: RemoteTraffic::default(),
            warnings: Vec::new(),
            elapsed_ms: 0,
        };
        let remote = match open(url) {
            Ok(remote) => remote,
            Err(error) => {
                report.warnings.push(warning(&error));
                return Ok(report);
            }
        };
        let result = pull_with(store_path, workspace, &remote, &namespace, &mut report, waiting);
        report.traffic = traffic(&remote);
        match result {
            Ok(()) => Ok(report),
            Err(Failure::Remote(error)) => {
                report.warnings.push(warning(&error));
                Ok(report)
            }
            Err(Failure::Local(error)) => Err(error),
        }
    }

    /// A pull stops on the remote's failure (reported) or the local store's (an error).
    enum Failure {
        Remote(cargo_store_remote::Error),
        Local(Error),
    }

    impl From<cargo_store_remote::Error> for Failure {
        fn from(error: cargo_store_remote::Error) -> Failure {
            Failure::Remote(error)
        }
    }

    impl From<Error> for Failure {
        fn from(error: Error) -> Failure {
            Failure::Local(error)
        }
    }

    impl From<cargo_store_cas::Error> for Failure {
        fn from(error: cargo_store_cas::Error) -> Failure {
            Failure::Local(error.into())
        }
    }

    fn pull_with(
        store_path: &Path,
        workspace: &Workspace,
        remote: &Remote,
        namespace: &Namespace,
        report: &mut PullReport,
        waiting: &mut dyn FnMut(&str),
    ) -> Result<(), Failure> {
        let packages: HashSet<_> = storable_packages(workspace).into_iter().collect();
        let digest = workspace.resolve_digest();
        let found = match remote.resolve_index(namespace, &digest)? {
            Some(units) => {
                report.discovery = Discovery::ResolveIndex;
                units
            }
            None => {
                report.discovery = Discovery::Packages;
                let packages: Vec<_> = packages.iter().cloned().collect();
                remote.package_units(namespace, &packages)?
            }
        };
        let mut remote_units: HashMap<String, NewUnit> = found
            .into_iter()
            .filter(|unit| unit.toolchain == namespace.toolchain && packages.contains(&unit.package))
            .map(|unit| (unit.key.clone(), unit))
            .collect();
        report.units_found = remote_units.len() as u64;
        crate::pause::pause("pull-found");
        if remote_units.is_empty() {
            // One listing, which also tells a bucket that does not exist.
            report.other_namespaces =
                remote.namespaces()?.iter().filter(|other| *other != namespace).map(describe).collect();
            return Ok(());
        }

        let mut store = Store::open(store_path, Access::Shared, waiting)?;
        let wanted: Vec<String> = remote_units.keys().cloned().collect();
        let local = store.index().unit_ids(wanted.iter().map(String::as_str))?;
        report.units_present = local.len() as u64;
        // The dependencies neither store nor the index named: by key, until closed.
        let mut local_keys: HashSet<String> = local.keys().cloned().collect();
        for _ in 0..64 {
            let needed: BTreeSet<String> = remote_units
                .values()
                .filter(|unit| !local_keys.contains(&unit.key))
                .flat_map(|unit| unit.dependencies.iter())
                .filter(|key| !local_keys.contains(*key) && !remote_units.contains_key(*key))
                .cloned()
                .collect();
            if needed.is_empty() {
                break;
            }
            let needed: Vec<String> = needed.into_iter().collect();
            local_keys.extend(store.index().unit_ids(needed.iter().map(String::as_str))?.into_keys());
            let fetch: Vec<String> = needed.into_iter().filter(|key| !local_keys.contains(key)).collect();
            let fetched = remote.units(namespace, &fetch)?;
            if fetched.is_empty() {
                break;
            }
            remote_units.extend(fetched.into_iter().map(|unit| (unit.key.clone(), unit)));
        }
        remote_units.retain(|key, _| !local_keys.contains(key));
        // Only builds against this resolve: a unit whose dependencies are builds of other
        // versions (an older lock file's) would never be placed here.
        let usable = within_resolve(remote_units.values(), &packages, &local_keys);
        remote_units.retain(|key, _| usable.contains(key));
        report.units_found = (remote_units.len() + local.len()) as u64;

        // Objects the local store lacks, downloaded and checked; the ones that fail make
        // their units unavailable.
        let mut available = closed(&remote_units, &local_keys, &HashSet::new());
        let needed: BTreeSet<ObjectId> =
            available.iter().flat_map(|key| remote_units[key].files.iter().filter_map(|file| file.object)).collect();
        let present = store.index().objects(needed.iter())?;
        let missing: Vec<ObjectId> = needed.into_iter().filter(|id| !present.contains_key(id)).collect();
        let directory = store.directory().clone();
        std::fs::create_dir_all(directory.tmp())
            .map_err(|source| cargo_store_cas::Error::io("create directory", directory.tmp(), source))?;
        let downloads: Vec<(ObjectId, PathBuf)> =
            missing.iter().map(|id| (*id, directory.temporary("download"))).collect();
        let results = remote.download(&downloads);
        let mut failed: HashSet<ObjectId> = HashSet::new();
        let mut downloaded: Vec<(ObjectId, PathBuf)> = Vec::new();
        let mut first_error = None;
        for ((id, path), result) in downloads.into_iter().zip(results) {
            match result {
                Ok(Some(_)) => downloaded.push((id, path)),
                Ok(None) => {
                    failed.insert(id);
                }
                Err(cargo_store_remote::Error::Damaged { object, .. }) => {
                    report.objects_damaged.push(object);
                    failed.insert(id);
                }
                Err(error) => {
                    failed.insert(id);
                    let _ = std::fs::remove_file(&path);
                    first_error.get_or_insert(error);
                }
            }
        }
        if !report.objects_damaged.is_empty() {
            report.warnings.push(format!(
                "{} object(s) on the remote are damaged (their bytes do not match their hash): the units that need them were not pulled",
                report.objects_damaged.len()
            ));
        }
        if let Some(error) = first_error {
            report.warnings.push(warning(&error));
        }
        available = closed(&remote_units, &local_keys, &failed);

        // Each object takes the mtime of the first file that uses it, as an ingest's would.
        let mut first_use: HashMap<ObjectId, (i64, bool)> = HashMap::new();
        for key in &available {
            for file in &remote_units[key].files {
                if let Some(id) = file.object {
                    first_use.entry(id).or_insert((file.modified_ns, file.class.hardlink_allowed()));
                }
            }
        }
        let mut records: Vec<cargo_store_cas::ObjectRecord> = Vec::new();
        for (id, path) in &downloaded {
            let stored = first_use.get(id).map(|&(modified_ns, writable)| -> crate::Result<_> {
                cargo_store_fs::set_times(path, cargo_store_fs::FileTimes { modified_ns })?;
                let metadata = std::fs::symlink_metadata(path)
                    .map_err(|source| cargo_store_cas::Error::io("read metadata of", path.clone(), source))?;
                let source = ObjectSource { path, identity: FileIdentity::of(&metadata), hardlink: true, writable };
                Ok(directory.store(*id, &source)?.record)
            });
            let _ = std::fs::remove_file(path);
            if let Some(stored) = stored {
                records.push(stored?);
                report.objects_downloaded += 1;
            }
        }

        // Commit, dependencies first.
        let timestamp = now();
        let transaction = store.index_mut().transaction()?;
        for record in &records {
            transaction.insert_object(record, timestamp)?;
        }
        let mut committed: HashSet<String> = HashSet::new();
        let mut pending: Vec<&String> = available.iter().collect();
        while !pending.is_empty() {
            let before = pending.len();
            let mut later = Vec::new();
            for key in pending {
                let unit = &remote_units[key];
                if unit
                    .dependencies
                    .iter()
                    .all(|dependency| local_keys.contains(dependency) || committed.contains(dependency))
                {
                    if transaction.unit_id(&unit.key)?.is_none() {
                        directory.write_manifest(unit)?;
                        transaction.insert_unit(unit, timestamp)?;
                        report.units_pulled += 1;
                    }
                    committed.insert(key.clone());
                } else {
                    later.push(key);
                }
            }
            if later.len() == before {
                break;
            }
            pending = later;
        }
        transaction.commit()?;
        report.units_unavailable = (remote_units.len() - committed.len()) as u64;
        if report.units_unavailable > 0 && report.warnings.is_empty() {
            report.warnings.push(format!(
                "{} unit(s) on the remote were not pulled: a dependency of theirs is not on the remote",
                report.units_unavailable
            ));
        }
        Ok(())
    }

    /// The keys of `units` built against the resolve of `packages`: their package is one of
    /// them, and so is every dependency's, recursively (a dependency in `local` counts as
    /// one).
    fn within_resolve<'u>(
        units: impl IntoIterator<Item = &'u NewUnit>,
        packages: &HashSet<cargo_store_cas::PackageKey>,
        local: &HashSet<String>,
    ) -> HashSet<String> {
        let units: Vec<&NewUnit> = units.into_iter().filter(|unit| packages.contains(&unit.package)).collect();
        let mut kept: HashSet<String> = units.iter().map(|unit| unit.key.clone()).collect();
        loop {
            let before = kept.len();
            for unit in &units {
                if kept.contains(&unit.key)
                    && !unit
                        .dependencies
                        .iter()
                        .all(|dependency| kept.contains(dependency) || local.contains(dependency))
                {
                    kept.remove(&unit.key);
                }
            }
            if kept.len() == before {
                return kept;
            }
        }
    }

    /// The keys of `units` whose objects are all had (none in `failed`) and whose
    /// dependencies are local or, recursively, such units.
    fn closed(
        units: &HashMap<String, NewUnit>,
        local: &HashSet<String>,
        failed: &HashSet<ObjectId>,
    ) -> BTreeSet<String> {
        fn visit(
            key: &str,
            units: &HashMap<String, NewUnit>,
            local: &HashSet<String>,
            failed: &HashSet<ObjectId>,
            memo: &mut HashMap<String, bool>,
        ) -> bool {
            if local.contains(key) {
                return true;
            }
            if let Some(&known) = memo.get(key) {
                return known;
            }
            // A cycle (which cargo never makes) counts as unavailable.
            memo.insert(key.to_owned(), false);
            let Some(unit) = units.get(key) else { return false };
            let good = unit.files.iter().all(|file| file.object.is_none_or(|id| !failed.contains(&id)))
                && unit.dependencies.iter().all(|dependency| visit(dependency, units, local, failed, memo));
            memo.insert(key.to_owned(), good);
            good
        }
        let mut memo = HashMap::new();
        units.keys().filter(|key| visit(key, units, local, failed, &mut memo)).cloned().collect()
    }

    pub(super) fn push_units(
        store_path: &Path,
        workspace: Option<&Workspace>,
        url: &str,
        all: bool,
        waiting: &mut dyn FnMut(&str),
    ) -> crate::Result<PushReport> {
        let toolchain = match workspace {
            Some(workspace) => Some(Toolchain::detect_cached(
                &workspace.root,
                crate::cache(store_path, CacheBucket::Rustc).as_deref(),
            )?),
            None => None,
        };
        let namespace = namespace_of(&toolchain.as_ref().map(Toolchain::namespace).unwrap_or_default());
        let mut report = PushReport {
            version: REPORT_VERSION,
            remote: url.to_owned(),
            namespace: describe(&namespace),
            units: 0,
            units_present: 0,
            units_pushed: 0,
            units_skipped: 0,
            objects_uploaded: 0,
            objects_present: 0,
            resolve_index: false,
            traffic: RemoteTraffic::default(),
            warnings: Vec::new(),
            elapsed_ms: 0,
        };
        let remote = match open(url) {
            Ok(remote) => remote,
            Err(error) => {
                report.warnings.push(warning(&error));
                return Ok(report);
            }
        };
        let result = push_with(store_path, workspace, &remote, &namespace, all, &mut report, waiting);
        report.traffic = traffic(&remote);
        match result {
            Ok(()) => Ok(report),
            Err(Failure::Remote(error)) => {
                report.warnings.push(warning(&error));
                Ok(report)
            }
            Err(Failure::Local(error)) => Err(error),
        }
    }

    fn push_with(
        store_path: &Path,
        workspace: Option<&Workspace>,
        remote: &Remote,
        namespace: &Namespace,
        all: bool,
        report: &mut PushReport,
        waiting: &mut dyn FnMut(&str),
    ) -> Result<(), Failure> {
        let mut store = Store::open_existing(store_path, Access::Shared, waiting)?;
        let workspace_packages: HashSet<_> = workspace.map(storable_packages).unwrap_or_default().into_iter().collect();
        // The units to push, closed over their dependencies.
        let mut ids: Vec<i64> = if all {
            store.index().all_unit_ids()?
        } else {
            let packages: Vec<_> = workspace_packages.iter().cloned().collect();
            let transaction = store.index_mut().transaction()?;
            let units = transaction.units_for_packages(&namespace.toolchain, &packages)?;
            units.iter().map(|unit| unit.id).collect()
        };
        let mut units: BTreeMap<i64, cargo_store_cas::StoredUnit> = BTreeMap::new();
        while !ids.is_empty() {
            let read = store.index().units(&ids)?;
            ids = read
                .iter()
                .flat_map(|unit| unit.dependencies.iter().copied())
                .filter(|id| !units.contains_key(id))
                .collect();
            ids.sort_unstable();
            ids.dedup();
            units.extend(read.into_iter().map(|unit| (unit.id, unit)));
            ids.retain(|id| !units.contains_key(id));
        }
        let keys = store.index().unit_keys(units.keys().copied())?;
        let manifests: Vec<NewUnit> = units.values().filter_map(|unit| unit.manifest(&keys)).collect();
        report.units = manifests.len() as u64;

        // Per toolchain (several only with --all), what the remote lacks.
        let mut by_toolchain: BTreeMap<&str, Vec<&NewUnit>> = BTreeMap::new();
        for unit in &manifests {
            by_toolchain.entry(unit.toolchain.as_str()).or_default().push(unit);
        }
        let digest = workspace.map(Workspace::resolve_digest);
        for (toolchain, group) in by_toolchain {
            let group_namespace = namespace_of(toolchain);
            let indexed: HashSet<String> = match (&digest, group_namespace == *namespace) {
                (Some(digest), true) => remote
                    .resolve_index(&group_namespace, digest)?
                    .unwrap_or_default()
                    .into_iter()
                    .map(|unit| unit.key)
                    .collect(),
                _ => HashSet::new(),
            };
            let unknown: Vec<String> =
                group.iter().map(|unit| unit.key.clone()).filter(|key| !indexed.contains(key)).collect();
            let mut on_remote: HashSet<String> =
                remote.present_units(&group_namespace, &unknown)?.into_iter().collect();
            on_remote.extend(indexed);
            let missing: Vec<&NewUnit> = group.iter().copied().filter(|unit| !on_remote.contains(&unit.key)).collect();
            report.units_present += (group.len() - missing.len()) as u64;

            // Objects first.
            let objects: BTreeSet<ObjectId> =
                missing.iter().flat_map(|unit| unit.files.iter().filter_map(|file| file.object)).collect();
            let objects: Vec<ObjectId> = objects.into_iter().collect();
            let present = remote.present_objects(&objects)?;
            report.objects_present += present.len() as u64;
            let uploads: Vec<(ObjectId, PathBuf)> = objects
                .iter()
                .filter(|id| !present.contains(id))
                .map(|id| (*id, store.directory().object_path(id)))
                .collect();
            remote.upload(&uploads)?;
            report.objects_uploaded += uploads.len() as u64;
            crate::pause::pause("push-uploaded");

            // Then manifests, a unit once its dependencies are there.
            let mut pending = missing;
            loop {
                let (ready, later): (Vec<&NewUnit>, Vec<&NewUnit>) = pending
                    .into_iter()
                    .partition(|unit| unit.dependencies.iter().all(|dependency| on_remote.contains(dependency)));
                if ready.is_empty() {
                    report.units_skipped += later.len() as u64;
                    break;
                }
                remote.publish_units(&group_namespace, &ready)?;
                report.units_pushed += ready.len() as u64;
                on_remote.extend(ready.iter().map(|unit| unit.key.clone()));
                crate::pause::pause("push-published-level");
                pending = later;
            }
            remote.publish_namespace(&group_namespace)?;

            // Then the index of this workspace's resolve.
            if let Some(digest) = &digest
                && group_namespace == *namespace
            {
                let published = group.iter().copied().filter(|unit| on_remote.contains(&unit.key));
                let usable = within_resolve(published, &workspace_packages, &HashSet::new());
                let listed: Vec<NewUnit> =
                    group.iter().filter(|unit| usable.contains(&unit.key)).map(|unit| (*unit).clone()).collect();
                if !listed.is_empty() {
                    remote.publish_resolve(&group_namespace, digest, &listed)?;
                    report.resolve_index = true;
                }
            }
        }
        Ok(())
    }
}
