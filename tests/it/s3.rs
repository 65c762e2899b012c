//! A real S3-compatible server on loopback for the tests of the remote tier, and two endpoints
//! that misbehave: one that accepts connections and never answers ([`silent_server`]), one where
//! nothing listens ([`closed_port`]). A mock would only answer what its author thought S3
//! answers; [`S3Server`] runs `s3s-fs` (crate `s3s-fs` 0.14.1 with its `binary` feature, which
//! `.ci/run` installs), an implementation of the S3 protocol over a directory, so the tests see
//! real signatures, real status codes and real objects they can also read as files.
//!
//! What s3s-fs 0.14.1 does, as found by running it (curl with `--aws-sigv4`):
//!
//! - **Command line**: `s3s-fs [--host H] [--port P] [--access-key K --secret-key S] ROOT`
//!   (the two keys go together; with them every request must be signed). `ROOT` must exist,
//!   or it exits 1 with "No such file or directory". `--port 0` binds a free port.
//! - **Log**: everything goes to **stdout**, in tracing's pretty format (two lines an event, no
//!   colours unless stdout is a terminal). With `RUST_LOG=info` it prints
//!   `  <time>  INFO s3s_fs: server is running at http://127.0.0.1:PORT` once it listens, then
//!   one ERROR event for each refused request. A fatal error is an ERROR event on stdout, then
//!   `Error: Error { source: Os { code: 98, kind: AddrInUse, … } }` on **stderr** and exit
//!   status 1; so both streams go to one log file here.
//! - **Buckets**: a bucket is a subdirectory of `ROOT`: a directory made beforehand is listed
//!   by ListBuckets and answers HeadBucket, so [`S3Server::start`] just creates it. Beware that
//!   a PUT into a bucket that does not exist succeeds and creates the directory: a wrong bucket
//!   name fails nowhere. An object is the file `ROOT/<bucket>/<key>`, each `/` of the key a
//!   directory, written to a temporary file and renamed into place.
//! - **Internal files**: kept at `ROOT`, beside the buckets, never inside one:
//!   `.bucket-<bucket>.object-<key>.metadata.json` (content type and the like) and
//!   `….internal.json` (ETag, checksums), names base64url without padding; temporary files
//!   `.tmp.<n>.internal.part` (removed at startup); multipart state `.upload-<id>.json` and
//!   `.upload_id-<id>.part-<n>`. [`S3Server::object_files`] skips these names anyway.
//! - **Conditional PUT**: `If-None-Match: *` on an existing key answers **412**
//!   `PreconditionFailed` "Object already exists" and leaves the object alone; on a new key,
//!   200. The check is a look before the write, not atomic: two concurrent creators of one
//!   key may both get 200 (the later rename wins). `If-Match: <etag>` is honoured too.
//! - **Refusals**: a wrong secret answers **403** `SignatureDoesNotMatch`; an unknown access
//!   key **403** `NotSignedUp` "Your account is not signed up"; an unsigned request **403**
//!   `AccessDenied` "Signature is required"; a signed request without `x-amz-content-sha256`
//!   (curl 7.88 sends none of its own) **400** `InvalidRequest`; a missing key **404**
//!   `NoSuchKey`.
//! - **Restart**: it binds through tokio, which sets `SO_REUSEADDR`, so a new server can
//!   usually take the port of a killed one at once; [`S3Server::restart`] retries for a few
//!   seconds in case another process took it meanwhile.

use std::fs::{self, File};
use std::hash::{BuildHasher, Hasher, RandomState};
use std::io::ErrorKind;
use std::net::{SocketAddr, TcpListener};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tempfile::TempDir;

/// The bucket every [`S3Server`] serves.
pub const BUCKET: &str = "cargo-store";

/// The region the credentials are for; s3s-fs accepts any, the SDKs want one.
pub const REGION: &str = "us-east-1";

/// How long a server may take to print the address it bound.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(10);

/// How long [`S3Server::restart`] retries while its port is taken.
const PORT_BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// What s3s-fs logs, followed by the address, once it listens.
const LISTENING: &str = "server is running at http://";

/// The s3s-fs binary: `CARGO_STORE_TEST_S3S_FS` if set (a path there that does not exist fails
/// the test when it starts the server, instead of skipping it), else `s3s-fs` on `PATH`, else
/// where `cargo install` puts it (`$CARGO_HOME/bin`, `~/.cargo/bin`); `None` if none is there.
pub fn s3s_fs() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("CARGO_STORE_TEST_S3S_FS").filter(|path| !path.is_empty()) {
        return Some(PathBuf::from(path));
    }
    let on_path: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|path| std::env::split_paths(&path).map(|directory| directory.join("s3s-fs")).collect())
        .unwrap_or_default();
    let installed = [
        std::env::var_os("CARGO_HOME").map(|home| PathBuf::from(home).join("bin/s3s-fs")),
        std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cargo/bin/s3s-fs")),
    ];
    on_path.into_iter().chain(installed.into_iter().flatten()).find(|path| is_executable(path))
}

/// Whether `path` is a file someone may execute.
fn is_executable(path: &Path) -> bool {
    fs::metadata(path).is_ok_and(|metadata| metadata.is_file() && metadata.permissions().mode() & 0o111 != 0)
}

/// An s3s-fs process serving the bucket [`BUCKET`] on `127.0.0.1`, with credentials of its own;
/// killed when dropped, its directory deleted.
pub struct S3Server {
    /// The s3s-fs binary.
    program: PathBuf,
    /// `<parent>/s3s-fs-…`: `data/` (the served root) and one log file a launch.
    directory: TempDir,
    /// The access key the server accepts.
    access_key: String,
    /// The secret key that goes with it.
    secret_key: String,
    /// The port it bound at the first start, and binds again at every restart.
    port: u16,
    /// The running process, `None` once stopped.
    child: Option<Child>,
    /// How many processes were launched, to name their logs.
    launches: u32,
    /// The log of the latest launch.
    log: PathBuf,
}

impl S3Server {
    /// Starts a server on a free port of `127.0.0.1`, in a new directory under `parent`, with a
    /// fresh access key and secret, and an empty bucket [`BUCKET`]; returns once it listens.
    /// Panics if s3s-fs is not installed (see [`s3s_fs`]) or does not start.
    pub fn start(parent: &Path) -> S3Server {
        let program = s3s_fs().unwrap_or_else(|| {
            panic!(
                "s3s-fs not found (CARGO_STORE_TEST_S3S_FS, PATH, ~/.cargo/bin): \
                 install it with `cargo install s3s-fs@0.14.1 --features binary --locked`"
            )
        });
        let directory = tempfile::Builder::new()
            .prefix("s3s-fs-")
            .tempdir_in(parent)
            .unwrap_or_else(|error| panic!("cannot create the S3 server's directory in {}: {error}", parent.display()));
        let (access_key, secret_key) = credentials();
        let mut server = S3Server {
            program,
            directory,
            access_key,
            secret_key,
            port: 0,
            child: None,
            launches: 0,
            log: PathBuf::new(),
        };
        let bucket = server.data_directory();
        fs::create_dir_all(&bucket)
            .unwrap_or_else(|error| panic!("cannot create the bucket directory {}: {error}", bucket.display()));
        server.launch(Duration::ZERO);
        server
    }

    /// `http://127.0.0.1:PORT`, what `AWS_ENDPOINT_URL` is set to.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The one bucket, [`BUCKET`].
    pub fn bucket(&self) -> &str {
        BUCKET
    }

    /// The access key the server accepts.
    pub fn access_key(&self) -> &str {
        &self.access_key
    }

    /// The secret key that goes with [`S3Server::access_key`].
    pub fn secret_key(&self) -> &str {
        &self.secret_key
    }

    /// The directory the server serves: one subdirectory a bucket, and its own files.
    fn root(&self) -> PathBuf {
        self.directory.path().join("data")
    }

    /// The bucket's directory, where the object with key `a/b` is the file `a/b`.
    pub fn data_directory(&self) -> PathBuf {
        self.root().join(BUCKET)
    }

    /// `s3://cargo-store/<prefix>`: a remote URL for cargo-store under `prefix` in the bucket.
    pub fn url(&self, prefix: &str) -> String {
        format!("s3://{BUCKET}/{}", prefix.trim_start_matches('/'))
    }

    /// The environment that points an S3 client at this server with its credentials, and keeps
    /// it from asking an EC2 metadata service for others.
    pub fn env(&self) -> Vec<(String, String)> {
        [
            ("AWS_ACCESS_KEY_ID", self.access_key.clone()),
            ("AWS_SECRET_ACCESS_KEY", self.secret_key.clone()),
            ("AWS_REGION", REGION.to_owned()),
            ("AWS_ENDPOINT_URL", self.endpoint()),
            ("AWS_EC2_METADATA_DISABLED", "true".to_owned()),
        ]
        .into_iter()
        .map(|(name, value)| (name.to_owned(), value))
        .collect()
    }

    /// Sets [`S3Server::env`] on `command`.
    pub fn apply<'command>(&self, command: &'command mut Command) -> &'command mut Command {
        command.envs(self.env())
    }

    /// Every object of the bucket as a file, sorted, leaving out s3s-fs's own files.
    pub fn object_files(&self) -> Vec<PathBuf> {
        let bucket = self.data_directory();
        let mut files = Vec::new();
        for entry in walkdir::WalkDir::new(&bucket).follow_links(false) {
            let entry = entry.unwrap_or_else(|error| panic!("cannot walk the bucket {}: {error}", bucket.display()));
            if !entry.file_type().is_dir() && !is_internal_file(&entry.file_name().to_string_lossy()) {
                files.push(entry.into_path());
            }
        }
        files.sort();
        files
    }

    /// The log of the running (or last) server process: stdout and stderr together.
    pub fn log(&self) -> &Path {
        &self.log
    }

    /// Kills the server and waits for it: the port then refuses connections. Does nothing if
    /// it is stopped already.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            // Fails only if it exited by itself, which `wait` then reports as well.
            let _ = child.kill();
            child.wait().unwrap_or_else(|error| panic!("cannot wait for the killed s3s-fs: {error}"));
        }
    }

    /// Stops the server if it runs and starts it again on the same port, serving the same
    /// directory with the same credentials: what the objects were, they still are.
    pub fn restart(&mut self) {
        self.stop();
        self.launch(PORT_BUSY_TIMEOUT);
    }

    /// Starts s3s-fs on [`S3Server::port`] (0 the first time) and waits until it listens. While
    /// the port is taken, tries again for `busy_timeout`.
    fn launch(&mut self, busy_timeout: Duration) {
        let deadline = Instant::now() + busy_timeout;
        loop {
            self.launches += 1;
            self.log = self.directory.path().join(format!("s3s-fs.{}.log", self.launches));
            let mut child = self.spawn();
            match wait_for_address(&mut child, &self.log) {
                Ok(address) => {
                    self.port = address.port();
                    self.child = Some(child);
                    return;
                }
                Err(exit) if exit.log.contains("Address already in use") && Instant::now() < deadline => {
                    thread::sleep(Duration::from_millis(100));
                }
                Err(exit) => panic!(
                    "s3s-fs exited ({}) before it listened on 127.0.0.1:{}; its log, {}:\n{}",
                    exit.status,
                    self.port,
                    self.log.display(),
                    exit.log
                ),
            }
        }
    }

    /// Spawns one s3s-fs process, logging to [`S3Server::log`].
    fn spawn(&self) -> Child {
        let log = File::create(&self.log)
            .unwrap_or_else(|error| panic!("cannot create the s3s-fs log {}: {error}", self.log.display()));
        let stderr = log.try_clone().unwrap_or_else(|error| panic!("cannot share {}: {error}", self.log.display()));
        Command::new(&self.program)
            .env("RUST_LOG", "info")
            .arg("--host")
            .arg("127.0.0.1")
            .arg("--port")
            .arg(self.port.to_string())
            .arg("--access-key")
            .arg(&self.access_key)
            .arg("--secret-key")
            .arg(&self.secret_key)
            .arg(self.root())
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(stderr)
            .spawn()
            .unwrap_or_else(|error| panic!("cannot start {}: {error}", self.program.display()))
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A server process that exited before it listened.
struct Exited {
    /// How it exited.
    status: ExitStatus,
    /// Everything it printed.
    log: String,
}

/// Reads `log` until `child` says where it listens; `Err` if it exits first. Panics, killing
/// it, when it neither listens nor exits within [`STARTUP_TIMEOUT`].
fn wait_for_address(child: &mut Child, log: &Path) -> Result<SocketAddr, Exited> {
    let read = || fs::read_to_string(log).unwrap_or_else(|error| panic!("cannot read {}: {error}", log.display()));
    let deadline = Instant::now() + STARTUP_TIMEOUT;
    loop {
        let text = read();
        if let Some(address) = listening_address(&text) {
            return Ok(address);
        }
        let exited = child.try_wait().unwrap_or_else(|error| panic!("cannot poll s3s-fs: {error}"));
        if let Some(status) = exited {
            return Err(Exited { status, log: read() });
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "s3s-fs printed no \"{LISTENING}…\" within {} s; its log, {}:\n{}",
                STARTUP_TIMEOUT.as_secs(),
                log.display(),
                read()
            );
        }
        thread::sleep(Duration::from_millis(20));
    }
}

/// The address in s3s-fs's "server is running at http://ADDRESS" line, once the line is whole.
fn listening_address(log: &str) -> Option<SocketAddr> {
    let (_, rest) = log.split_once(LISTENING)?;
    // Only an address followed by the end of its line was written completely.
    let end = rest.find(char::is_whitespace)?;
    let address = &rest[..end];
    Some(address.parse().unwrap_or_else(|error| panic!("s3s-fs logged an address that is none: {address:?}: {error}")))
}

/// Whether a file named `name` is one s3s-fs keeps for itself (object attributes, ETags and
/// checksums, temporary files, multipart uploads) rather than an object. Version 0.14.1 writes
/// them beside the buckets, never inside one, so in a bucket this only matters if that changes.
fn is_internal_file(name: &str) -> bool {
    (name.starts_with(".bucket-") && (name.ends_with(".metadata.json") || name.ends_with(".internal.json")))
        || (name.starts_with(".tmp.") && name.ends_with(".internal.part"))
        || name.starts_with(".upload-")
        || name.starts_with(".upload_id-")
}

/// An access key and a secret no other server of this or another test process has: a
/// randomly seeded hash of the process, a counter and the time.
fn credentials() -> (String, String) {
    static SERVERS: AtomicU64 = AtomicU64::new(0);
    let mut hasher = RandomState::new().build_hasher();
    hasher.write_u32(std::process::id());
    hasher.write_u64(SERVERS.fetch_add(1, Ordering::Relaxed));
    hasher.write_u128(SystemTime::now().duration_since(UNIX_EPOCH).map(|since| since.as_nanos()).unwrap_or_default());
    let mut next = || {
        hasher.write_u8(0);
        hasher.finish()
    };
    (format!("CARGOSTORE{:016X}", next()), format!("{:016x}{:016x}{:016x}", next(), next(), next()))
}

/// A listener on `127.0.0.1` that accepts every connection and never answers, and its
/// `http://127.0.0.1:PORT` endpoint: a remote that hangs after the connection is made (a
/// listener that does not accept would also hang, but only until its backlog is full). A
/// background thread accepts and holds the connections with a duplicate of the listener, so
/// the port stays open, silent, until the test process ends.
pub fn silent_server() -> (TcpListener, String) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a silent listener on 127.0.0.1");
    let port = listener.local_addr().expect("the silent listener's address").port();
    let acceptor = listener.try_clone().expect("duplicate the silent listener");
    thread::Builder::new()
        .name(format!("silent-server-{port}"))
        .spawn(move || {
            let mut connections = Vec::new();
            // Stops at the first error (no descriptors left): then the backlog holds the rest.
            for connection in acceptor.incoming() {
                match connection {
                    Ok(connection) => connections.push(connection),
                    Err(_) => break,
                }
            }
        })
        .expect("start the silent server's thread");
    (listener, format!("http://127.0.0.1:{port}"))
}

/// `http://127.0.0.1:PORT` where nothing listens, so connecting is refused: a port the system
/// just gave out and that is free again. (Another process could take it meanwhile; the system
/// does not hand out a port it just gave soon again.)
pub fn closed_port() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a listener on 127.0.0.1 to find a free port");
    let port = listener.local_addr().expect("the listener's address").port();
    drop(listener);
    format!("http://127.0.0.1:{port}")
}

#[cfg(test)]
mod tests {
    use std::io::Read;
    use std::net::TcpStream;
    use std::process::Output;

    use super::*;
    use crate::support::{describe, printed, run};

    /// A server under `parent`, or `None`, having said why, when s3s-fs is not installed; unless
    /// `CARGO_STORE_TEST_REQUIRE_S3` is set (as in CI), which makes a missing s3s-fs a failure.
    fn start_or_skip(parent: &Path) -> Option<S3Server> {
        if s3s_fs().is_some() {
            return Some(S3Server::start(parent));
        }
        assert!(
            std::env::var_os("CARGO_STORE_TEST_REQUIRE_S3").is_none_or(|value| value.is_empty()),
            "CARGO_STORE_TEST_REQUIRE_S3 is set but s3s-fs is not installed: \
             `cargo install s3s-fs@0.14.1 --features binary --locked`"
        );
        eprintln!("skipped: s3s-fs is not installed (`cargo install s3s-fs@0.14.1 --features binary --locked`)");
        None
    }

    /// What curl got for one request.
    struct Response {
        /// curl's own exit status and messages.
        output: Output,
        /// The HTTP status, 0 when no answer came.
        status: u16,
        /// The body of the answer.
        body: Vec<u8>,
    }

    /// One request to `key` in the bucket with curl, signed with the server's access key and
    /// `secret_key`; `body`, if any, is uploaded. `scratch` holds the bodies.
    fn request(
        server: &S3Server,
        scratch: &Path,
        secret_key: &str,
        method: &str,
        key: &str,
        headers: &[&str],
        body: Option<&[u8]>,
    ) -> Response {
        let answer = scratch.join("answer");
        let _ = fs::remove_file(&answer);
        let mut command = Command::new("curl");
        command
            .args(["--silent", "--show-error", "--max-time", "10", "--aws-sigv4"])
            .arg(format!("aws:amz:{REGION}:s3"))
            .arg("--user")
            .arg(format!("{}:{secret_key}", server.access_key()))
            // s3s-fs refuses signed requests without it, and curl adds none of its own.
            .args(["--header", "x-amz-content-sha256: UNSIGNED-PAYLOAD", "--request", method])
            .arg("--output")
            .arg(&answer)
            .args(["--write-out", "%{http_code}"]);
        for header in headers {
            command.arg("--header").arg(header);
        }
        if let Some(body) = body {
            let upload = scratch.join("upload");
            fs::write(&upload, body).expect("write the body to upload");
            command.arg("--upload-file").arg(upload);
        }
        command.arg(format!("{}/{}/{key}", server.endpoint(), server.bucket()));
        let output = command.output().unwrap_or_else(|error| panic!("cannot run `{}`: {error}", describe(&command)));
        let status = String::from_utf8_lossy(&output.stdout).trim().parse().unwrap_or_else(|error| {
            panic!("`{}` printed no HTTP status: {error}\n{}", describe(&command), printed(&output))
        });
        let body = fs::read(&answer).unwrap_or_default();
        Response { output, status, body }
    }

    /// A signed PUT of `body` at `key`.
    fn put(server: &S3Server, scratch: &Path, key: &str, headers: &[&str], body: &[u8]) -> Response {
        request(server, scratch, server.secret_key(), "PUT", key, headers, Some(body))
    }

    /// A signed GET of `key`.
    fn get(server: &S3Server, scratch: &Path, key: &str) -> Response {
        request(server, scratch, server.secret_key(), "GET", key, &[], None)
    }

    /// Panics, with what curl printed, unless the answer has `status`.
    fn assert_status(response: &Response, status: u16, what: &str) {
        assert_eq!(
            response.status,
            status,
            "{what}: answer {}\n{}",
            String::from_utf8_lossy(&response.body),
            printed(&response.output)
        );
    }

    const KEY: &str = "objects/ab/cdef";
    const BYTES: &[u8] = b"an object\0with \xff binary bytes\n";

    #[test]
    fn put_then_get_returns_the_bytes_and_the_object_is_a_file_of_the_bucket() {
        let scratch = tempfile::tempdir().expect("temporary directory");
        let Some(server) = start_or_skip(scratch.path()) else { return };
        assert!(server.object_files().is_empty(), "a new bucket holds {:?}", server.object_files());

        assert_status(&put(&server, scratch.path(), KEY, &[], BYTES), 200, "PUT");
        let response = get(&server, scratch.path(), KEY);
        assert_status(&response, 200, "GET");
        assert_eq!(response.body, BYTES);

        let file = server.data_directory().join(KEY);
        assert_eq!(server.object_files(), std::slice::from_ref(&file));
        assert_eq!(fs::read(&file).expect("read the object's file"), BYTES);
        assert_status(&get(&server, scratch.path(), "objects/missing"), 404, "GET of a missing key");
    }

    #[test]
    fn a_conditional_put_of_an_existing_key_is_refused_with_412() {
        let scratch = tempfile::tempdir().expect("temporary directory");
        let Some(server) = start_or_skip(scratch.path()) else { return };
        let create_only = ["If-None-Match: *"];
        assert_status(&put(&server, scratch.path(), KEY, &create_only, BYTES), 200, "PUT of a new key");
        let response = put(&server, scratch.path(), KEY, &create_only, b"other bytes");
        assert_status(&response, 412, "PUT over an existing key");
        assert!(
            String::from_utf8_lossy(&response.body).contains("PreconditionFailed"),
            "{}",
            printed(&response.output)
        );
        assert_eq!(get(&server, scratch.path(), KEY).body, BYTES, "the refused PUT changed the object");
    }

    #[test]
    fn stop_refuses_connections_and_restart_serves_the_same_data_on_the_same_port() {
        let scratch = tempfile::tempdir().expect("temporary directory");
        let Some(mut server) = start_or_skip(scratch.path()) else { return };
        assert_status(&put(&server, scratch.path(), KEY, &[], BYTES), 200, "PUT");
        let endpoint = server.endpoint();

        server.stop();
        server.stop();
        let address = endpoint.trim_start_matches("http://");
        let error = TcpStream::connect(address).expect_err("a stopped server accepted a connection");
        assert_eq!(error.kind(), ErrorKind::ConnectionRefused, "{error}");
        let response = get(&server, scratch.path(), KEY);
        // curl's exit status for "could not connect".
        assert_eq!(response.output.status.code(), Some(7), "{}", printed(&response.output));

        server.restart();
        assert_eq!(server.endpoint(), endpoint);
        let response = get(&server, scratch.path(), KEY);
        assert_status(&response, 200, "GET after the restart");
        assert_eq!(response.body, BYTES);
    }

    #[test]
    fn restart_waits_for_its_port_while_another_process_holds_it() {
        let scratch = tempfile::tempdir().expect("temporary directory");
        let Some(mut server) = start_or_skip(scratch.path()) else { return };
        let endpoint = server.endpoint();
        server.stop();
        let squatter =
            TcpListener::bind(endpoint.trim_start_matches("http://")).expect("take the stopped server's port");
        let release = thread::spawn(move || {
            thread::sleep(Duration::from_millis(500));
            drop(squatter);
        });
        server.restart();
        release.join().expect("the thread holding the port");
        assert_eq!(server.endpoint(), endpoint);
        // One launch to start, one refused while the port was taken, at least one more after.
        assert!(server.launches > 2, "the restart never found its port taken: {}", server.log().display());
        assert_status(&get(&server, scratch.path(), "objects/missing"), 404, "GET after the restart");
    }

    #[test]
    fn a_wrong_secret_is_refused_with_403() {
        let scratch = tempfile::tempdir().expect("temporary directory");
        let Some(server) = start_or_skip(scratch.path()) else { return };
        let response = request(&server, scratch.path(), "not-the-secret", "PUT", KEY, &[], Some(BYTES));
        assert_status(&response, 403, "PUT with a wrong secret");
        assert!(
            String::from_utf8_lossy(&response.body).contains("SignatureDoesNotMatch"),
            "{}",
            String::from_utf8_lossy(&response.body)
        );
        assert!(server.object_files().is_empty(), "the refused PUT wrote {:?}", server.object_files());
    }

    #[test]
    fn env_and_apply_point_a_client_at_the_server() {
        let scratch = tempfile::tempdir().expect("temporary directory");
        let Some(server) = start_or_skip(scratch.path()) else { return };
        let mut command = Command::new("sh");
        command.args([
            "-c",
            "printf '%s\\n' \"$AWS_ACCESS_KEY_ID\" \"$AWS_SECRET_ACCESS_KEY\" \"$AWS_REGION\" \
             \"$AWS_ENDPOINT_URL\" \"$AWS_EC2_METADATA_DISABLED\"",
        ]);
        let output = run(server.apply(&mut command));
        let endpoint = server.endpoint();
        assert_eq!(
            String::from_utf8_lossy(&output.stdout).lines().collect::<Vec<_>>(),
            [server.access_key(), server.secret_key(), REGION, &endpoint, "true"]
        );
        assert!(endpoint.starts_with("http://127.0.0.1:") && !endpoint.ends_with(":0"), "{endpoint}");
        assert_eq!(server.url("remote/a"), "s3://cargo-store/remote/a");
        assert!(server.log().is_file(), "{}", server.log().display());
    }

    #[test]
    fn a_silent_server_accepts_and_never_answers() {
        let (_listener, endpoint) = silent_server();
        let mut stream =
            TcpStream::connect(endpoint.trim_start_matches("http://")).expect("connect to the silent server");
        stream.set_read_timeout(Some(Duration::from_millis(300))).expect("set a read timeout");
        let mut byte = [0; 1];
        let error = stream.read(&mut byte).expect_err("the silent server answered or closed the connection");
        assert!(matches!(error.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut), "{error}");
    }

    #[test]
    fn a_closed_port_refuses_connections() {
        let endpoint = closed_port();
        let error = TcpStream::connect(endpoint.trim_start_matches("http://")).expect_err("something listens");
        assert_eq!(error.kind(), ErrorKind::ConnectionRefused, "{error}");
    }
}
