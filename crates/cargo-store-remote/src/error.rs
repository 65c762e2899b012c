//! What can go wrong with a remote, in words that say what to change.
//!
//! OpenDAL reports what the server answered (a status, an S3 error code) and what the
//! transport failed at; users need to know which of their settings is wrong. So every error is
//! turned into one of a few cases here, each naming the bucket or directory and, in its hint,
//! the variable to check.

use std::borrow::Cow;
use std::path::PathBuf;

/// An error of the remote tier.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// `CARGO_STORE_REMOTE` (or `--remote`) is not a URL this build understands.
    #[error("`{url}` is not a remote cargo-store can use: {reason}")]
    Url {
        /// The URL as given.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The server could not be reached, or the connection broke.
    #[error("cannot reach the remote {remote}: {detail}")]
    Unreachable {
        /// The remote.
        remote: String,
        /// What the transport said.
        detail: String,
    },
    /// A request took longer than the timeout.
    #[error("the remote {remote} did not answer within {seconds} s")]
    Timeout {
        /// The remote.
        remote: String,
        /// The timeout.
        seconds: f64,
    },
    /// The server refused the credentials.
    #[error("the remote {remote} refused the credentials: {detail}")]
    Authentication {
        /// The remote.
        remote: String,
        /// The server's error code or message.
        detail: String,
    },
    /// The credentials are accepted, but not for this operation (writing, usually).
    #[error("the remote {remote} does not allow this machine to {operation}: {detail}")]
    Denied {
        /// The remote.
        remote: String,
        /// What was refused (`read`, `write`, `list`).
        operation: &'static str,
        /// The server's error code or message.
        detail: String,
    },
    /// The bucket (or directory) does not exist.
    #[error("the remote {remote} does not exist")]
    Missing {
        /// The remote.
        remote: String,
        /// Whether it is a directory (`file://`) rather than a bucket.
        directory: bool,
    },
    /// Any other answer of the server.
    #[error("the remote {remote} failed to {operation} {path}: {detail}")]
    Service {
        /// The remote.
        remote: String,
        /// What was being done.
        operation: &'static str,
        /// The key.
        path: String,
        /// What the server or OpenDAL said.
        detail: String,
    },
    /// An object's bytes are not the ones its name promises.
    #[error("object {object} on the remote {remote} is damaged (its bytes hash to {actual})")]
    Damaged {
        /// The remote.
        remote: String,
        /// The object.
        object: String,
        /// What its bytes hash to.
        actual: String,
    },
    /// An earlier failure of this command turned the remote off (see [`crate::Remote`]): the
    /// message and hint are that failure's.
    #[error("{first}")]
    Off {
        /// The failure that turned it off.
        first: String,
        /// Its hint.
        hint: Option<String>,
    },
    /// Reading or writing a local file failed.
    #[error("cannot {action} {}: {source}", path.display())]
    Io {
        /// What was being done.
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
}

impl Error {
    /// What to do about it.
    pub fn hint(&self) -> Option<Cow<'_, str>> {
        Some(Cow::Borrowed(match self {
            Error::Url { .. } => "use s3://BUCKET[/PREFIX] for an S3-compatible bucket or file:///PATH for a directory",
            Error::Unreachable { .. } | Error::Timeout { .. } => {
                "check AWS_ENDPOINT_URL (for an S3-compatible server) and the network; `cargo store doctor` checks the remote; `checkout --offline` skips it"
            }
            Error::Authentication { .. } => {
                "check AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN (or AWS_PROFILE); for a public bucket, unset them to read anonymously"
            }
            Error::Denied { operation: "write", .. } => {
                "these credentials may only read: pushing needs write access to the bucket (developer machines usually only pull)"
            }
            Error::Denied { .. } => "check the bucket policy and the credentials in AWS_ACCESS_KEY_ID / AWS_PROFILE",
            Error::Missing { directory: true, .. } => "create the directory, or fix the path in CARGO_STORE_REMOTE",
            Error::Missing { directory: false, .. } => {
                "create the bucket, or fix its name in CARGO_STORE_REMOTE (and AWS_REGION / AWS_ENDPOINT_URL)"
            }
            Error::Service { .. } => "`cargo store doctor` checks the remote; `-v` logs every request",
            Error::Damaged { .. } => {
                "the unit was not used; `cargo store push` from a machine that has it writes no object twice, so delete the object on the remote to let it be uploaded again"
            }
            Error::Off { hint, .. } => return hint.as_deref().map(Cow::Borrowed),
            Error::Io { .. } => "check the store directory's permissions and free space",
        }))
    }

    /// Whether the remote as configured cannot work at all (wrong credentials, no such bucket):
    /// trying again in this command would fail the same way.
    pub fn is_configuration(&self) -> bool {
        matches!(self, Error::Url { .. } | Error::Authentication { .. } | Error::Missing { .. })
    }

    /// Whether this failure says the remote is unreachable or slow (rather than answering).
    pub fn is_transport(&self) -> bool {
        matches!(self, Error::Unreachable { .. } | Error::Timeout { .. })
    }
}

/// S3 error codes that mean the credentials themselves are wrong.
const CREDENTIAL_CODES: [&str; 7] = [
    "InvalidAccessKeyId",
    "NotSignedUp",
    "SignatureDoesNotMatch",
    "InvalidToken",
    "ExpiredToken",
    "TokenRefreshRequired",
    "AuthorizationHeaderMalformed",
];

/// Turns an OpenDAL error of `operation` on `path` into ours.
pub(crate) fn classify(
    remote: &str,
    directory: bool,
    timeout: f64,
    operation: &'static str,
    path: &str,
    error: &opendal::Error,
) -> Error {
    let text = error.to_string();
    let remote = remote.to_owned();
    let detail = || {
        // S3 errors are printed as `S3Error { code: "...", message: "...", ... }`: the code is
        // what people search for.
        match text.split_once("code: \"").and_then(|(_, rest)| rest.split_once('"')) {
            Some((code, _)) => code.to_owned(),
            None => error.message().to_owned(),
        }
    };
    if text.contains("NoSuchBucket") {
        return Error::Missing { remote, directory };
    }
    match error.kind() {
        opendal::ErrorKind::PermissionDenied if CREDENTIAL_CODES.iter().any(|code| text.contains(code)) => {
            Error::Authentication { remote, detail: detail() }
        }
        opendal::ErrorKind::PermissionDenied => Error::Denied { remote, operation, detail: detail() },
        opendal::ErrorKind::Unexpected if text.contains("timeout reached") => {
            Error::Timeout { remote, seconds: timeout }
        }
        opendal::ErrorKind::Unexpected if is_transport(error) => {
            Error::Unreachable { remote, detail: transport_detail(error) }
        }
        _ => Error::Service { remote, operation, path: path.to_owned(), detail: detail() },
    }
}

/// Whether an OpenDAL error is the HTTP transport's (no answer at all).
fn is_transport(error: &opendal::Error) -> bool {
    let text = format!("{error:?}");
    ["send http request", "error sending request", "connection", "Connection", "dns error", "tcp connect"]
        .iter()
        .any(|needle| text.contains(needle))
}

/// The innermost cause of a transport error, which says what failed (`Connection refused`).
fn transport_detail(error: &opendal::Error) -> String {
    let mut source: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(error);
    let mut last = error.message().to_owned();
    while let Some(cause) = source {
        last = cause.to_string();
        source = cause.source();
    }
    last
}

#[cfg(test)]
mod tests {
    use super::*;

    fn classified(kind: opendal::ErrorKind, message: &str) -> Error {
        classify("s3://team-cache", false, 5.0, "read", "key", &opendal::Error::new(kind, message))
    }

    #[test]
    fn server_answers_become_what_to_fix() {
        let wrong_secret = classified(
            opendal::ErrorKind::PermissionDenied,
            r#"S3Error { code: "SignatureDoesNotMatch", message: "..." }"#,
        );
        assert!(matches!(wrong_secret, Error::Authentication { ref detail, .. } if detail == "SignatureDoesNotMatch"));
        assert!(wrong_secret.is_configuration());
        assert!(wrong_secret.hint().is_some_and(|hint| hint.contains("AWS_SECRET_ACCESS_KEY")));

        let read_only = classified(opendal::ErrorKind::PermissionDenied, r#"S3Error { code: "AccessDenied" }"#);
        assert!(matches!(read_only, Error::Denied { .. }) && !read_only.is_configuration());

        let no_bucket = classified(opendal::ErrorKind::Unexpected, r#"S3Error { code: "NoSuchBucket" }"#);
        assert!(matches!(no_bucket, Error::Missing { directory: false, .. }), "{no_bucket:?}");
        assert!(no_bucket.to_string().contains("s3://team-cache"));

        let slow = classified(opendal::ErrorKind::Unexpected, "operation timeout reached");
        assert!(matches!(slow, Error::Timeout { .. }) && slow.is_transport());
    }
}
