//! The client: one OpenDAL operator, the layout's names, and the breaker.

use std::collections::BTreeSet;
use std::future::{Future, IntoFuture};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::time::Duration;

use cargo_store_cas::{NewUnit, ObjectId, PackageKey};
use futures::stream::{self, StreamExt};
use opendal::Operator;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::error::classify;
use crate::{Error, RemoteUrl};

/// The top directory of the layout, versioned so that another layout can live beside it.
const ROOT: &str = "cargo-store-v1";

/// The format of the resolve index.
const INDEX_FORMAT: u32 = 1;

/// Failures in a row, after a first success, that turn the remote off.
const FAILURES_BEFORE_OFF: u32 = 3;

/// How requests are made.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The longest a connection or a request may take without progress.
    pub timeout: Duration,
    /// Requests in flight at once.
    pub concurrency: usize,
    /// Whether credentials may come from the cloud's instance metadata endpoint (EC2's IMDS).
    /// Off unless `AWS_EC2_METADATA_DISABLED=false`: probing it off the cloud costs a timeout.
    pub instance_metadata: bool,
}

impl Settings {
    /// The settings from the environment: `CARGO_STORE_REMOTE_TIMEOUT` (seconds, default 5),
    /// `AWS_EC2_METADATA_DISABLED`.
    pub fn from_environment() -> Settings {
        let timeout = std::env::var("CARGO_STORE_REMOTE_TIMEOUT")
            .ok()
            .and_then(|value| value.trim().parse::<f64>().ok())
            .filter(|seconds| seconds.is_finite() && *seconds > 0.0)
            .map_or(Duration::from_secs(5), Duration::from_secs_f64);
        let instance_metadata =
            std::env::var("AWS_EC2_METADATA_DISABLED").is_ok_and(|value| value.eq_ignore_ascii_case("false"));
        Settings { timeout, concurrency: 16, instance_metadata }
    }
}

/// The machines whose units can be used here: same toolchain, same `CARGO_HOME`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Namespace {
    /// The toolchain namespace of the local store (`rustc 1.95.0 (59807616e) x86_64-…`).
    pub toolchain: String,
    /// The absolute path of `CARGO_HOME`.
    pub cargo_home: String,
}

impl Namespace {
    /// The namespace of units built by `toolchain` with sources under `cargo_home`.
    pub fn new(toolchain: &str, cargo_home: &Path) -> Namespace {
        Namespace { toolchain: toolchain.to_owned(), cargo_home: cargo_home.to_string_lossy().into_owned() }
    }

    /// Its name in the layout: a hash of both.
    pub fn id(&self) -> String {
        let mut hasher = blake3::Hasher::new();
        hasher.update(self.toolchain.as_bytes());
        hasher.update(&[0]);
        hasher.update(self.cargo_home.as_bytes());
        hasher.finalize().to_hex()[..16].to_owned()
    }
}

/// What a command sent and received.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Traffic {
    /// Requests made.
    pub requests: u64,
    /// Bytes of objects and manifests uploaded.
    pub bytes_uploaded: u64,
    /// Bytes downloaded.
    pub bytes_downloaded: u64,
}

/// One check of `cargo store doctor`.
#[derive(Debug, Clone)]
pub struct Check {
    /// What was checked.
    pub name: &'static str,
    /// How it went.
    pub result: CheckResult,
}

/// How a check went.
#[derive(Debug, Clone)]
pub enum CheckResult {
    /// Fine: what was found.
    Pass(String),
    /// Works, with a caveat; and what to do about it.
    Warn(String, String),
    /// Does not work; and what to do about it.
    Fail(String, String),
}

/// An open remote.
pub struct Remote {
    url: RemoteUrl,
    name: String,
    operator: Operator,
    runtime: tokio::runtime::Runtime,
    settings: Settings,
    /// Whether the service can write an object only if it is absent, atomically.
    conditional: bool,
    succeeded: AtomicBool,
    failures: AtomicU32,
    off: Mutex<Option<(String, Option<String>)>>,
    requests: AtomicU64,
    uploaded: AtomicU64,
    downloaded: AtomicU64,
}

impl std::fmt::Debug for Remote {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Remote").field("url", &self.url).finish_non_exhaustive()
    }
}

/// Whether the AWS variables or files offer credentials; without any, requests go unsigned
/// (anonymous read of a public bucket).
fn credentials_configured(settings: &Settings) -> bool {
    let set = |name: &str| std::env::var_os(name).is_some_and(|value| !value.is_empty());
    let files = [
        std::env::var_os("AWS_SHARED_CREDENTIALS_FILE").map(PathBuf::from),
        std::env::var_os("AWS_CONFIG_FILE").map(PathBuf::from),
        std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".aws/credentials")),
        std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".aws/config")),
    ];
    settings.instance_metadata
        || ["AWS_ACCESS_KEY_ID", "AWS_PROFILE", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_ARN"]
            .iter()
            .chain(&["AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI"])
            .any(|name| set(name))
        || files.into_iter().flatten().any(|file| file.is_file())
}

impl Remote {
    /// Opens the remote at `url`. Nothing is requested yet; a directory must exist.
    pub fn open(url: &RemoteUrl, settings: Settings) -> crate::Result<Remote> {
        let name = url.to_string();
        let service_error = |error: opendal::Error| Error::Service {
            remote: name.clone(),
            operation: "configure",
            path: String::new(),
            detail: error.to_string(),
        };
        let operator = match url {
            RemoteUrl::S3 { bucket, prefix } => {
                let mut builder = opendal::services::S3::default().bucket(bucket).root(&format!("/{prefix}"));
                if !settings.instance_metadata {
                    builder = builder.disable_ec2_metadata();
                }
                if std::env::var_os("AWS_REGION").is_none() && std::env::var_os("AWS_DEFAULT_REGION").is_none() {
                    // S3-compatible servers ignore it; AWS answers a wrong one with a redirect
                    // that names the right one.
                    builder = builder.region("us-east-1");
                }
                if !credentials_configured(&settings) {
                    builder = builder.skip_signature();
                }
                Operator::new(builder).map_err(service_error)?
            }
            RemoteUrl::Directory { path } => {
                if !path.is_dir() {
                    return Err(Error::Missing { remote: name, directory: true });
                }
                let temporary = path.join(ROOT).join("tmp");
                let builder = opendal::services::Fs::default()
                    .root(&path.to_string_lossy())
                    .atomic_write_dir(&temporary.to_string_lossy());
                Operator::new(builder).map_err(service_error)?
            }
        };
        // reqwest is built without a default crypto provider (ring instead of aws-lc: no cmake
        // at install time); installing it twice is harmless.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client =
            reqwest::Client::builder().connect_timeout(settings.timeout).build().map_err(|error| Error::Service {
                remote: name.clone(),
                operation: "configure",
                path: String::new(),
                detail: error.to_string(),
            })?;
        let transport = opendal::HttpTransporter::new(opendal_http_transport_reqwest::ReqwestTransport::new(client));
        let operator = operator.with_context(opendal::OperationContext::new().with_http_transport(transport)).layer(
            opendal::layers::TimeoutLayer::new().with_timeout(settings.timeout).with_io_timeout(settings.timeout),
        );
        let conditional = operator.info().capability().write_with_if_not_exists;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|source| Error::Io { action: "start the runtime for", path: PathBuf::from(&name), source })?;
        Ok(Remote {
            url: url.clone(),
            name,
            operator,
            runtime,
            settings,
            conditional,
            succeeded: AtomicBool::new(false),
            failures: AtomicU32::new(0),
            off: Mutex::new(None),
            requests: AtomicU64::new(0),
            uploaded: AtomicU64::new(0),
            downloaded: AtomicU64::new(0),
        })
    }

    /// Where it is.
    pub fn url(&self) -> &RemoteUrl {
        &self.url
    }

    /// What this command sent and received so far.
    pub fn traffic(&self) -> Traffic {
        Traffic {
            requests: self.requests.load(Ordering::Relaxed),
            bytes_uploaded: self.uploaded.load(Ordering::Relaxed),
            bytes_downloaded: self.downloaded.load(Ordering::Relaxed),
        }
    }

    /// The failure that turned the remote off, if one did.
    pub fn off(&self) -> Option<String> {
        self.off_error().map(|error| error.to_string())
    }

    fn off_error(&self) -> Option<Error> {
        let off = self.off.lock().ok()?.clone()?;
        Some(Error::Off { first: off.0, hint: off.1 })
    }

    // Names in the layout.

    fn object_path(id: &ObjectId) -> String {
        let (prefix, name) = id.file_name();
        format!("{ROOT}/objects/{prefix}/{name}")
    }

    fn namespace_path(namespace: &Namespace) -> String {
        format!("{ROOT}/namespaces/{}", namespace.id())
    }

    /// 128 bits of the key's blake3: names stay short enough for servers that keep a key as
    /// a file name (s3s-fs, MinIO in filesystem mode).
    fn key_hash(key: &str) -> String {
        blake3::hash(key.as_bytes()).to_hex()[..32].to_owned()
    }

    fn unit_path(namespace: &Namespace, key_hash: &str) -> String {
        format!("{}/units/{key_hash}.json", Self::namespace_path(namespace))
    }

    fn package_directory(namespace: &Namespace, package: &PackageKey) -> String {
        let mut hasher = blake3::Hasher::new();
        for part in [&package.name, &package.version, &package.source] {
            hasher.update(part.as_bytes());
            hasher.update(&[0]);
        }
        format!("{}/packages/{}/", Self::namespace_path(namespace), &hasher.finalize().to_hex()[..16])
    }

    fn resolve_path(namespace: &Namespace, digest: &str) -> String {
        format!("{}/resolves/{digest}.json", Self::namespace_path(namespace))
    }

    // Requests, through the breaker.

    /// Runs one request unless the remote is off, and records how it went.
    async fn request<T>(
        &self,
        operation: &'static str,
        path: &str,
        future: impl IntoFuture<Output = opendal::Result<T>>,
    ) -> crate::Result<Result<T, opendal::ErrorKind>> {
        if let Some(off) = self.off_error() {
            return Err(off);
        }
        self.requests.fetch_add(1, Ordering::Relaxed);
        match future.await {
            Ok(value) => {
                self.succeeded.store(true, Ordering::Relaxed);
                self.failures.store(0, Ordering::Relaxed);
                Ok(Ok(value))
            }
            // Answers that are part of the protocol, not failures.
            Err(error)
                if matches!(error.kind(), opendal::ErrorKind::NotFound | opendal::ErrorKind::ConditionNotMatch)
                    && !error.to_string().contains("NoSuchBucket") =>
            {
                self.succeeded.store(true, Ordering::Relaxed);
                self.failures.store(0, Ordering::Relaxed);
                Ok(Err(error.kind()))
            }
            Err(error) => {
                let error = classify(
                    &self.name,
                    self.url.is_directory(),
                    self.settings.timeout.as_secs_f64(),
                    operation,
                    path,
                    &error,
                );
                tracing::debug!("remote: {operation} {path}: {error}");
                let failures = self.failures.fetch_add(1, Ordering::Relaxed) + 1;
                let off = error.is_configuration()
                    || !self.succeeded.load(Ordering::Relaxed)
                    || failures >= FAILURES_BEFORE_OFF;
                if off && let Ok(mut first) = self.off.lock() {
                    first.get_or_insert_with(|| (error.to_string(), error.hint().map(|hint| hint.into_owned())));
                }
                Err(error)
            }
        }
    }

    async fn read(&self, path: &str) -> crate::Result<Option<Vec<u8>>> {
        let answer = self.request("read", path, self.operator.read(path)).await?;
        Ok(answer.ok().map(|buffer| {
            let bytes = buffer.to_vec();
            self.downloaded.fetch_add(bytes.len() as u64, Ordering::Relaxed);
            bytes
        }))
    }

    async fn exists(&self, path: &str) -> crate::Result<bool> {
        Ok(self.request("look up", path, self.operator.stat(path)).await?.is_ok())
    }

    /// Writes `bytes` at `path`; with `once`, only if nothing is there (returns whether it
    /// wrote).
    async fn write(&self, path: &str, bytes: Vec<u8>, once: bool) -> crate::Result<bool> {
        if once && !self.conditional && self.exists(path).await? {
            return Ok(false);
        }
        let size = bytes.len() as u64;
        let future = self.operator.write_with(path, bytes).if_not_exists(once && self.conditional);
        let written = self.request("write", path, future).await?.is_ok();
        if written {
            self.uploaded.fetch_add(size, Ordering::Relaxed);
        }
        Ok(written)
    }

    async fn list(&self, directory: &str) -> crate::Result<Vec<String>> {
        let entries = self.request("list", directory, self.operator.list(directory)).await?.unwrap_or_default();
        Ok(entries
            .into_iter()
            .map(|entry| entry.name().trim_end_matches('/').to_owned())
            .filter(|name| !name.is_empty())
            .collect())
    }

    /// Runs `work` over `items`, `concurrency` at a time, keeping their order.
    fn each<I, T, F, Fut>(&self, items: I, concurrency: usize, work: F) -> Vec<T>
    where
        I: IntoIterator,
        F: Fn(I::Item) -> Fut,
        Fut: Future<Output = T>,
    {
        self.runtime.block_on(stream::iter(items).map(work).buffered(concurrency.max(1)).collect())
    }

    // What pull and push need.

    /// The manifests pushed for the resolve `digest` in `namespace`; `None` if no push wrote
    /// that index.
    pub fn resolve_index(&self, namespace: &Namespace, digest: &str) -> crate::Result<Option<Vec<NewUnit>>> {
        let path = Self::resolve_path(namespace, digest);
        let Some(bytes) = self.runtime.block_on(self.read(&path))? else { return Ok(None) };
        #[derive(Deserialize)]
        struct Index {
            format: u32,
            units: Vec<Box<RawValue>>,
        }
        let index = match serde_json::from_slice::<Index>(&bytes) {
            Ok(index) if index.format == INDEX_FORMAT => index,
            // Another format or a damaged index: as if there were none.
            _ => {
                tracing::warn!("the index {path} on {} cannot be read; looking up packages instead", self.name);
                return Ok(None);
            }
        };
        Ok(Some(index.units.iter().filter_map(|unit| NewUnit::from_json(unit.get().as_bytes())).collect()))
    }

    /// The units of `packages` in `namespace`, found through the per-package markers: one
    /// listing per package and one read per unit. A failed request leaves its units out.
    pub fn package_units(&self, namespace: &Namespace, packages: &[PackageKey]) -> crate::Result<Vec<NewUnit>> {
        let listings = self.each(packages, self.settings.concurrency, |package| async move {
            self.list(&Self::package_directory(namespace, package)).await
        });
        let mut hashes = BTreeSet::new();
        for listing in listings {
            match listing {
                Ok(names) => hashes.extend(names),
                Err(error @ Error::Off { .. }) => return Err(error),
                Err(_) => {}
            }
        }
        self.units_by_hash(namespace, hashes.into_iter().map(|hash| (hash, None)).collect())
    }

    /// The manifests of the units `keys` in `namespace` that the remote has.
    pub fn units(&self, namespace: &Namespace, keys: &[String]) -> crate::Result<Vec<NewUnit>> {
        self.units_by_hash(namespace, keys.iter().map(|key| (Self::key_hash(key), Some(key.as_str()))).collect())
    }

    fn units_by_hash(&self, namespace: &Namespace, wanted: Vec<(String, Option<&str>)>) -> crate::Result<Vec<NewUnit>> {
        let found = self.each(wanted, self.settings.concurrency, |(hash, key)| async move {
            let bytes = self.read(&Self::unit_path(namespace, &hash)).await?;
            // A manifest must be one this build reads, and be the one its name says.
            Ok::<_, Error>(
                bytes
                    .and_then(|bytes| NewUnit::from_json(&bytes))
                    .filter(|unit| Self::key_hash(&unit.key) == hash && key.is_none_or(|key| unit.key == key)),
            )
        });
        let mut units = Vec::new();
        for unit in found {
            match unit {
                Ok(unit) => units.extend(unit),
                Err(error @ Error::Off { .. }) => return Err(error),
                Err(_) => {}
            }
        }
        Ok(units)
    }

    /// Downloads each object to its path, checking its blake3 before it is kept; returns, per
    /// object, its size or why it could not be had (`Ok(None)`: the remote has no such object).
    pub fn download(&self, objects: &[(ObjectId, PathBuf)]) -> Vec<crate::Result<Option<u64>>> {
        // Objects can be large: fewer at once than for manifests.
        let concurrency = self.settings.concurrency.div_ceil(2);
        self.each(objects, concurrency, |(id, destination)| async move {
            let path = Self::object_path(id);
            let Some(bytes) = self.read(&path).await? else { return Ok(None) };
            let actual = blake3::hash(&bytes);
            if actual.as_bytes() != &id.hash {
                return Err(Error::Damaged {
                    remote: self.name.clone(),
                    object: path,
                    actual: actual.to_hex().to_string(),
                });
            }
            std::fs::write(destination, &bytes).map_err(|source| Error::Io {
                action: "write",
                path: destination.clone(),
                source,
            })?;
            Ok(Some(bytes.len() as u64))
        })
    }

    /// Which of `keys` have a manifest in `namespace`.
    pub fn present_units(&self, namespace: &Namespace, keys: &[String]) -> crate::Result<BTreeSet<String>> {
        let answers = self.each(keys, self.settings.concurrency, |key| async move {
            self.exists(&Self::unit_path(namespace, &Self::key_hash(key))).await
        });
        let mut present = BTreeSet::new();
        for (key, answer) in keys.iter().zip(answers) {
            if answer? {
                present.insert(key.clone());
            }
        }
        Ok(present)
    }

    /// Which of `objects` the remote has.
    pub fn present_objects(&self, objects: &[ObjectId]) -> crate::Result<BTreeSet<ObjectId>> {
        let answers = self
            .each(objects, self.settings.concurrency, |id| async move { self.exists(&Self::object_path(id)).await });
        let mut present = BTreeSet::new();
        for (id, answer) in objects.iter().zip(answers) {
            if answer? {
                present.insert(*id);
            }
        }
        Ok(present)
    }

    /// Uploads each object from its file, never replacing one that is there; returns the
    /// bytes written. Stops at the first failure.
    pub fn upload(&self, objects: &[(ObjectId, PathBuf)]) -> crate::Result<u64> {
        let concurrency = self.settings.concurrency.div_ceil(2);
        let results = self.each(objects, concurrency, |(id, source)| async move {
            let bytes = std::fs::read(source).map_err(|error| Error::Io {
                action: "read",
                path: source.clone(),
                source: error,
            })?;
            // The local object is checked too: a damaged one is not spread further.
            if blake3::hash(&bytes).as_bytes() != &id.hash {
                return Err(Error::Io {
                    action: "upload (its bytes are not its hash; `cargo store verify` finds such objects)",
                    path: source.clone(),
                    source: std::io::Error::from(std::io::ErrorKind::InvalidData),
                });
            }
            let size = bytes.len() as u64;
            Ok(if self.write(&Self::object_path(id), bytes, true).await? { size } else { 0 })
        });
        results.into_iter().try_fold(0, |total, result| Ok(total + result?))
    }

    /// Publishes the manifests of `units` (whose objects and dependencies are on the remote
    /// already), each with its package marker after it. Stops at the first failure.
    pub fn publish_units(&self, namespace: &Namespace, units: &[&NewUnit]) -> crate::Result<()> {
        let results = self.each(units, self.settings.concurrency, |unit| async move {
            let hash = Self::key_hash(&unit.key);
            self.write(&Self::unit_path(namespace, &hash), unit.to_json(), true).await?;
            let marker = format!("{}{hash}", Self::package_directory(namespace, &unit.package));
            self.write(&marker, Vec::new(), true).await?;
            Ok::<_, Error>(())
        });
        results.into_iter().collect()
    }

    /// Writes `namespace.json` if it is not there: what the namespace stands for, for people.
    pub fn publish_namespace(&self, namespace: &Namespace) -> crate::Result<()> {
        let path = format!("{}/namespace.json", Self::namespace_path(namespace));
        let bytes = serde_json::to_vec_pretty(namespace).unwrap_or_default();
        self.runtime.block_on(self.write(&path, bytes, true)).map(drop)
    }

    /// The namespaces on the remote, as their `namespace.json` describe them: for saying why a
    /// machine finds nothing.
    pub fn namespaces(&self) -> crate::Result<Vec<Namespace>> {
        let names = self.runtime.block_on(self.list(&format!("{ROOT}/namespaces/")))?;
        let found = self.each(names, self.settings.concurrency, |name| async move {
            let bytes = self.read(&format!("{ROOT}/namespaces/{name}/namespace.json")).await?;
            Ok::<_, Error>(bytes.and_then(|bytes| serde_json::from_slice::<Namespace>(&bytes).ok()))
        });
        Ok(found.into_iter().filter_map(|namespace| namespace.ok().flatten()).collect())
    }

    /// Makes the resolve index of `digest` list `units` too (all published), keeping what it
    /// listed. Two pushes at once may each write their own: the other one's units are then
    /// found through the package markers, never lost.
    pub fn publish_resolve(&self, namespace: &Namespace, digest: &str, units: &[NewUnit]) -> crate::Result<()> {
        let mut merged: std::collections::BTreeMap<String, Vec<u8>> =
            units.iter().map(|unit| (unit.key.clone(), unit.to_json())).collect();
        let existing = self.resolve_index(namespace, digest)?.unwrap_or_default();
        let listed: BTreeSet<&str> = existing.iter().map(|unit| unit.key.as_str()).collect();
        if units.iter().all(|unit| listed.contains(unit.key.as_str())) {
            return Ok(());
        }
        for unit in existing {
            merged.entry(unit.key.clone()).or_insert_with(|| unit.to_json());
        }
        let mut bytes = format!("{{\"format\":{INDEX_FORMAT},\"units\":[").into_bytes();
        for (position, manifest) in merged.values().enumerate() {
            if position > 0 {
                bytes.push(b',');
            }
            bytes.extend_from_slice(manifest);
        }
        bytes.extend_from_slice(b"]}");
        self.runtime.block_on(self.write(&Self::resolve_path(namespace, digest), bytes, false)).map(drop)
    }

    /// Checks that the remote is reachable, exists, can be read and (with `write`) written.
    pub fn check(&self, write: bool) -> Vec<Check> {
        let mut checks = Vec::new();
        let listed = self.runtime.block_on(self.list(&format!("{ROOT}/")));
        match listed {
            Ok(names) => checks.push(Check {
                name: "remote readable",
                result: CheckResult::Pass(if names.is_empty() {
                    format!("{} is empty (nothing pushed yet)", self.name)
                } else {
                    format!("{} holds a cargo-store remote", self.name)
                }),
            }),
            Err(error) => {
                let hint = error.hint().map(|hint| hint.into_owned()).unwrap_or_default();
                checks.push(Check { name: "remote readable", result: CheckResult::Fail(error.to_string(), hint) });
                return checks;
            }
        }
        if !write {
            return checks;
        }
        let probe = format!("{ROOT}/doctor/{}-{}", std::process::id(), cargo_store_cas::now());
        let written = self.runtime.block_on(async {
            self.write(&probe, b"cargo-store doctor".to_vec(), false).await?;
            let _ = self.request("delete", &probe, self.operator.delete(&probe)).await;
            Ok::<_, Error>(())
        });
        checks.push(Check {
            name: "remote writable",
            result: match written {
                Ok(()) => CheckResult::Pass(format!("this machine can push to {}", self.name)),
                Err(error @ Error::Denied { .. }) => CheckResult::Warn(
                    format!("{error} (this machine can pull, not push)"),
                    error.hint().map(|hint| hint.into_owned()).unwrap_or_default(),
                ),
                Err(error) => {
                    CheckResult::Fail(error.to_string(), error.hint().map(|hint| hint.into_owned()).unwrap_or_default())
                }
            },
        });
        checks
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn namespaces_separate_toolchains_and_cargo_homes() {
        let here =
            Namespace::new("rustc 1.95.0 (59807616e) x86_64-unknown-linux-gnu", Path::new("/home/runner/.cargo"));
        let other_home = Namespace::new(&here.toolchain, Path::new("/root/.cargo"));
        let other_toolchain =
            Namespace::new("rustc 1.96.0 (0123456789) x86_64-unknown-linux-gnu", Path::new(&here.cargo_home));
        assert_eq!(here.id(), Namespace::new(&here.toolchain, Path::new(&here.cargo_home)).id());
        assert_ne!(here.id(), other_home.id());
        assert_ne!(here.id(), other_toolchain.id());
        assert_eq!(here.id().len(), 16);
    }

    #[test]
    fn a_directory_remote_writes_objects_once_and_reads_them_back() {
        let directory = tempfile::tempdir().expect("a temporary directory");
        let url = RemoteUrl::Directory { path: directory.path().to_path_buf() };
        let remote = Remote::open(&url, Settings::from_environment()).expect("the directory opens");
        let source = directory.path().join("source");
        std::fs::write(&source, b"object bytes").expect("write the source");
        let id = ObjectId::of_bytes(b"object bytes", false);
        assert_eq!(remote.present_objects(&[id]).expect("lookup").len(), 0);
        assert_eq!(remote.upload(&[(id, source.clone())]).expect("upload"), 12);
        // Written once: a second upload writes nothing.
        assert_eq!(remote.upload(&[(id, source)]).expect("upload again"), 0);
        let copy = directory.path().join("copy");
        let downloaded = remote.download(&[(id, copy.clone())]);
        assert!(matches!(downloaded.as_slice(), [Ok(Some(12))]), "{downloaded:?}");
        assert_eq!(std::fs::read(&copy).expect("the copy"), b"object bytes");

        // Damaged on the remote: detected, never written out.
        let (prefix, name) = id.file_name();
        std::fs::write(directory.path().join(ROOT).join("objects").join(prefix).join(name), b"other bytes")
            .expect("damage the object");
        let damaged = directory.path().join("damaged");
        let downloaded = remote.download(&[(id, damaged.clone())]);
        assert!(matches!(downloaded.as_slice(), [Err(Error::Damaged { .. })]), "{downloaded:?}");
        assert!(!damaged.exists());
    }

    #[test]
    fn a_missing_directory_is_refused_with_its_path() {
        let url = RemoteUrl::Directory { path: PathBuf::from("/nonexistent/cargo-store-remote") };
        let error = Remote::open(&url, Settings::from_environment()).expect_err("no such directory");
        assert!(matches!(error, Error::Missing { directory: true, .. }));
        assert!(error.to_string().contains("/nonexistent/cargo-store-remote"));
    }
}
