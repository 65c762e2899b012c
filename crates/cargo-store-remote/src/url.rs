//! Remote URLs: `s3://BUCKET[/PREFIX]` and `file:///PATH`.

use std::fmt;
use std::path::PathBuf;

use crate::Error;

/// Where a remote is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RemoteUrl {
    /// A bucket of an S3-compatible object store; credentials, region and endpoint come from
    /// the standard AWS variables and files.
    S3 {
        /// The bucket.
        bucket: String,
        /// The key prefix inside it, without leading or trailing `/`; may be empty.
        prefix: String,
    },
    /// A directory, on a shared or network filesystem.
    Directory {
        /// The directory (absolute).
        path: PathBuf,
    },
}

impl RemoteUrl {
    /// Parses `s3://BUCKET[/PREFIX]` or `file:///PATH`.
    pub fn parse(text: &str) -> crate::Result<RemoteUrl> {
        let invalid = |reason: &str| Error::Url { url: text.to_owned(), reason: reason.to_owned() };
        if let Some(rest) = text.strip_prefix("s3://") {
            let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
            // Bucket names: 3 to 63 lowercase letters, digits, dots and hyphens (S3's rules,
            // which the compatible servers follow).
            let valid = (3..=63).contains(&bucket.len())
                && bucket
                    .bytes()
                    .all(|byte| byte.is_ascii_lowercase() || byte.is_ascii_digit() || b".-".contains(&byte));
            if !valid {
                return Err(invalid("the bucket name must be 3 to 63 lowercase letters, digits, dots or hyphens"));
            }
            let prefix = prefix.trim_matches('/');
            if prefix.split('/').any(|part| part == "." || part == "..") {
                return Err(invalid("the prefix may not contain `.` or `..`"));
            }
            return Ok(RemoteUrl::S3 { bucket: bucket.to_owned(), prefix: prefix.to_owned() });
        }
        if let Some(path) = text.strip_prefix("file://") {
            let path = PathBuf::from(path);
            if !path.is_absolute() {
                return Err(invalid("a file:// URL needs an absolute path (file:///srv/cargo-store)"));
            }
            return Ok(RemoteUrl::Directory { path });
        }
        Err(invalid("only s3:// and file:// remotes are supported"))
    }

    /// `bucket` or `directory`, for messages.
    pub fn is_directory(&self) -> bool {
        matches!(self, RemoteUrl::Directory { .. })
    }
}

impl fmt::Display for RemoteUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RemoteUrl::S3 { bucket, prefix } if prefix.is_empty() => write!(f, "s3://{bucket}"),
            RemoteUrl::S3 { bucket, prefix } => write!(f, "s3://{bucket}/{prefix}"),
            RemoteUrl::Directory { path } => write!(f, "file://{}", path.display()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_buckets_prefixes_and_directories() {
        assert_eq!(
            RemoteUrl::parse("s3://team-cache/ci/main/").ok(),
            Some(RemoteUrl::S3 { bucket: "team-cache".into(), prefix: "ci/main".into() })
        );
        assert_eq!(
            RemoteUrl::parse("s3://team-cache").ok(),
            Some(RemoteUrl::S3 { bucket: "team-cache".into(), prefix: String::new() })
        );
        assert_eq!(
            RemoteUrl::parse("file:///srv/cache").ok(),
            Some(RemoteUrl::Directory { path: "/srv/cache".into() })
        );
        assert_eq!(
            RemoteUrl::parse("s3://team-cache/ci").map(|url| url.to_string()).ok().as_deref(),
            Some("s3://team-cache/ci")
        );
        for bad in ["s3://Team", "s3://ab", "file://relative/path", "gs://bucket", "s3://bucket/../x", "/srv/cache"] {
            assert!(RemoteUrl::parse(bad).is_err(), "{bad} should be refused");
        }
    }
}
