//! A remote in S3-compatible object storage (AWS S3, MinIO, Ceph), through Apache Arrow's
//! `object_store`. A PUT of one object is atomic in S3, so readers never see part of one.
//!
//! Credentials: the `AWS_ACCESS_KEY_ID` / `AWS_SECRET_ACCESS_KEY` (and `AWS_SESSION_TOKEN`)
//! environment variables, else the profile `AWS_PROFILE` (default `default`) of
//! `~/.aws/credentials` (or `AWS_SHARED_CREDENTIALS_FILE`). They are handed to the client
//! and never printed: errors name the bucket, the object and what failed.

use super::{Location, RemoteError, Store};
use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::path::Path as ObjectPath;
use object_store::{ClientOptions, ObjectStoreExt, PutPayload, RetryConfig};
use std::time::Duration;

pub struct S3Store {
    client: AmazonS3,
    prefix: String,
    name: String,
    runtime: tokio::runtime::Runtime,
}

/// (access key id, secret key, session token) from the environment or a profile file.
fn credentials() -> Option<(String, String, Option<String>)> {
    let var = |n: &str| std::env::var(n).ok().filter(|v| !v.is_empty());
    if let (Some(id), Some(secret)) = (var("AWS_ACCESS_KEY_ID"), var("AWS_SECRET_ACCESS_KEY")) {
        return Some((id, secret, var("AWS_SESSION_TOKEN")));
    }
    let file = var("AWS_SHARED_CREDENTIALS_FILE")
        .map(std::path::PathBuf::from)
        .or_else(|| var("HOME").map(|h| std::path::Path::new(&h).join(".aws/credentials")))?;
    let profile = var("AWS_PROFILE").unwrap_or_else(|| "default".into());
    profile_credentials(&std::fs::read_to_string(file).ok()?, &profile)
}

/// The keys of `[profile]` in an AWS credentials file (INI: `key = value` lines).
fn profile_credentials(text: &str, profile: &str) -> Option<(String, String, Option<String>)> {
    let mut in_profile = false;
    let (mut id, mut secret, mut token) = (None, None, None);
    for line in text.lines().map(str::trim) {
        if line.starts_with('[') {
            in_profile = line.trim_matches(|c| c == '[' || c == ']').trim() == profile;
            continue;
        }
        let Some((k, v)) = line.split_once('=') else {
            continue;
        };
        if in_profile {
            let v = v.trim().to_string();
            match k.trim() {
                "aws_access_key_id" => id = Some(v),
                "aws_secret_access_key" => secret = Some(v),
                "aws_session_token" => token = Some(v),
                _ => {}
            }
        }
    }
    Some((id?, secret?, token))
}

impl S3Store {
    pub fn new(location: &Location) -> Result<S3Store, RemoteError> {
        let Location::S3 {
            bucket,
            prefix,
            endpoint,
            region,
        } = location
        else {
            unreachable!("S3Store::new takes S3 locations")
        };
        let name = location.describe();
        let config = |message: String| RemoteError::Config {
            remote: name.clone(),
            message,
        };
        let Some((id, secret, token)) = credentials() else {
            return Err(config(
                "no credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or a profile in ~/.aws/credentials (AWS_PROFILE)".into(),
            ));
        };
        // rustls needs one process-wide crypto provider; a second install is a no-op.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let mut builder = AmazonS3Builder::new()
            .with_bucket_name(bucket)
            .with_access_key_id(id)
            .with_secret_access_key(secret)
            .with_region(
                region
                    .clone()
                    .or_else(|| std::env::var("AWS_REGION").ok())
                    .unwrap_or_else(|| "us-east-1".into()),
            )
            // An unreachable server fails in seconds, not after minutes of retries.
            .with_retry(RetryConfig {
                max_retries: 2,
                retry_timeout: Duration::from_secs(20),
                ..Default::default()
            })
            .with_client_options(
                ClientOptions::new()
                    .with_connect_timeout(Duration::from_secs(5))
                    .with_timeout(Duration::from_secs(600)),
            );
        if let Some(token) = token {
            builder = builder.with_token(token);
        }
        if let Some(endpoint) = endpoint {
            builder = builder
                .with_endpoint(endpoint)
                .with_allow_http(endpoint.starts_with("http://"))
                // Servers other than AWS address buckets by path.
                .with_virtual_hosted_style_request(false);
        }
        let client = builder.build().map_err(|e| config(e.to_string()))?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| config(format!("starting the I/O runtime: {e}")))?;
        Ok(S3Store {
            client,
            prefix: prefix.clone(),
            name,
            runtime,
        })
    }

    fn path(&self, object: &str) -> ObjectPath {
        if self.prefix.is_empty() {
            ObjectPath::from(object)
        } else {
            ObjectPath::from(format!("{}/{object}", self.prefix))
        }
    }

    fn err(&self, object: &str, e: object_store::Error) -> RemoteError {
        RemoteError::Access {
            remote: self.name.clone(),
            object: object.to_string(),
            message: short_error(&e),
        }
    }
}

/// The error's chain in one line, without the request's URL query (which could carry a
/// signature).
fn short_error(e: &object_store::Error) -> String {
    let text = crate::engine::runner::error_chain(e);
    match text.find('?') {
        Some(q) => text[..q].to_string(),
        None => text,
    }
}

impl Store for S3Store {
    fn describe(&self) -> String {
        self.name.clone()
    }

    fn exists(&self, object: &str) -> Result<bool, RemoteError> {
        match self.runtime.block_on(self.client.head(&self.path(object))) {
            Ok(_) => Ok(true),
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(e) => Err(self.err(object, e)),
        }
    }

    fn get(&self, object: &str) -> Result<Option<Vec<u8>>, RemoteError> {
        let path = self.path(object);
        let result = self.runtime.block_on(async {
            let got = self.client.get(&path).await?;
            got.bytes().await
        });
        match result {
            Ok(bytes) => Ok(Some(bytes.to_vec())),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(self.err(object, e)),
        }
    }

    fn put(&self, object: &str, bytes: Vec<u8>) -> Result<(), RemoteError> {
        self.runtime
            .block_on(self.client.put(&self.path(object), PutPayload::from(bytes)))
            .map(|_| ())
            .map_err(|e| self.err(object, e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_profile_of_the_credentials_file_is_read_alone() {
        let text = "[default]\naws_access_key_id = A\naws_secret_access_key = B\n\n[lab]\naws_access_key_id=C\naws_secret_access_key = D\naws_session_token = T\n";
        assert_eq!(
            profile_credentials(text, "default"),
            Some(("A".into(), "B".into(), None))
        );
        assert_eq!(
            profile_credentials(text, "lab"),
            Some(("C".into(), "D".into(), Some("T".into())))
        );
        assert_eq!(profile_credentials(text, "other"), None);
    }
}
