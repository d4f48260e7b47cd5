//! Getting one dataset file: from local mirror folders first, then from each URL with
//! timeouts and retries. Whatever the source, the decompressed payload must match its
//! pinned digest; every source tried is named in the error when none succeeds.

use super::datasets::FileSpec;
use crate::engine::hash::sha256_hex;
use flate2::read::MultiGzDecoder;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Duration;
use thiserror::Error;

/// The largest compressed file accepted (MNIST's biggest is ~10 MB; this stops a
/// misbehaving server from filling memory).
const MAX_DOWNLOAD: u64 = 256 << 20;
/// The largest decompressed payload accepted.
const MAX_PAYLOAD: u64 = 1 << 30;

#[derive(Debug, Error)]
#[error("could not get {file} of dataset `{dataset}`:\n{}", attempts.iter().map(|(s, r)| format!("  - {s}: {r}")).collect::<Vec<_>>().join("\n"))]
pub struct FetchError {
    pub dataset: String,
    pub file: String,
    /// (source, what went wrong) for every source tried.
    pub attempts: Vec<(String, String)>,
}

#[derive(Debug, Clone)]
pub struct HttpSettings {
    pub timeout: Duration,
    /// Attempts per URL for transient failures (connection errors, 5xx, 429).
    pub attempts: u32,
    pub backoff: Duration,
}

impl Default for HttpSettings {
    fn default() -> Self {
        HttpSettings {
            timeout: Duration::from_secs(60),
            attempts: 3,
            backoff: Duration::from_secs(2),
        }
    }
}

/// Where a file can come from, in the order tried.
#[derive(Debug, Clone)]
pub enum Source {
    Mirror(PathBuf),
    Url(String),
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Source::Mirror(p) => write!(f, "{}", p.display()),
            Source::Url(u) => write!(f, "{u}"),
        }
    }
}

/// Lists the candidate sources of `file` for a dataset: `<mirror>/<dataset>/<file>` for
/// each mirror, then `<base url><file>`.
pub fn sources(
    dataset: &str,
    file: &FileSpec,
    mirrors: &[PathBuf],
    urls: &[String],
) -> Vec<Source> {
    let name = file.file_name();
    let mut out: Vec<Source> = mirrors
        .iter()
        .map(|m| Source::Mirror(m.join(dataset).join(&name)))
        .collect();
    out.extend(urls.iter().map(|base| {
        let sep = if base.ends_with('/') { "" } else { "/" };
        Source::Url(format!("{base}{sep}{name}"))
    }));
    out
}

/// Returns the verified, decompressed payload of `file`, trying `sources` in order. A
/// mirror that lacks the file is skipped quietly; any other failure is remembered and
/// reported through `warn` before the next source is tried.
pub fn fetch_payload(
    dataset: &str,
    file: &FileSpec,
    sources: &[Source],
    http: &HttpSettings,
    mut on_source: impl FnMut(&Source),
    mut warn: impl FnMut(&str),
) -> Result<Vec<u8>, FetchError> {
    let mut attempts = Vec::new();
    for source in sources {
        let compressed = match source {
            Source::Mirror(path) => match read_mirror(path) {
                Ok(Some(bytes)) => Ok(bytes),
                Ok(None) => {
                    attempts.push((source.to_string(), "not in this mirror".to_string()));
                    continue;
                }
                Err(e) => Err(e),
            },
            Source::Url(url) => download(url, http),
        };
        on_source(source);
        let result = compressed
            .and_then(|bytes| decompress(&bytes))
            .and_then(|payload| {
                verify(file, &payload)?;
                Ok(payload)
            });
        match result {
            Ok(payload) => return Ok(payload),
            Err(reason) => {
                warn(&format!("{source}: {reason}"));
                attempts.push((source.to_string(), reason));
            }
        }
    }
    if attempts.is_empty() {
        attempts.push(("(none)".into(), "no mirror or URL configured".into()));
    }
    Err(FetchError {
        dataset: dataset.into(),
        file: file.file_name(),
        attempts,
    })
}

fn read_mirror(path: &Path) -> Result<Option<Vec<u8>>, String> {
    match std::fs::read(path) {
        Ok(b) => Ok(Some(b)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(format!("cannot read: {e}")),
    }
}

fn download(url: &str, http: &HttpSettings) -> Result<Vec<u8>, String> {
    let agent = ureq::AgentBuilder::new()
        .timeout_connect(http.timeout.min(Duration::from_secs(30)))
        .timeout_read(http.timeout)
        .user_agent(concat!("repro/", env!("CARGO_PKG_VERSION")))
        .build();
    let mut last = String::new();
    for attempt in 1..=http.attempts.max(1) {
        if attempt > 1 {
            std::thread::sleep(http.backoff * (attempt - 1));
        }
        match agent.get(url).call() {
            Ok(resp) => {
                let expected: Option<u64> =
                    resp.header("Content-Length").and_then(|v| v.parse().ok());
                let mut body = Vec::new();
                match resp
                    .into_reader()
                    .take(MAX_DOWNLOAD + 1)
                    .read_to_end(&mut body)
                {
                    Ok(_) if body.len() as u64 > MAX_DOWNLOAD => {
                        return Err(format!("larger than {MAX_DOWNLOAD} bytes"))
                    }
                    Ok(_) => match expected {
                        Some(n) if n != body.len() as u64 => {
                            last = format!("truncated body: {} of {n} bytes", body.len());
                        }
                        _ => return Ok(body),
                    },
                    Err(e) => {
                        last = match expected {
                            Some(n) => format!("truncated body: {} of {n} bytes ({e})", body.len()),
                            None => format!("body read failed after {} bytes: {e}", body.len()),
                        }
                    }
                }
            }
            Err(ureq::Error::Status(code, resp)) => {
                let msg = format!("HTTP {code} {}", resp.status_text());
                // Only server-side trouble is worth another attempt.
                if code < 500 && code != 429 {
                    return Err(msg);
                }
                last = msg;
            }
            Err(ureq::Error::Transport(t)) => last = format!("transport error: {t}"),
        }
    }
    Err(format!("{last} (after {} attempts)", http.attempts.max(1)))
}

fn decompress(bytes: &[u8]) -> Result<Vec<u8>, String> {
    if bytes.len() < 2 || bytes[0] != 0x1f || bytes[1] != 0x8b {
        return Err("not a gzip stream (wrong magic bytes)".into());
    }
    let mut payload = Vec::new();
    MultiGzDecoder::new(bytes)
        .take(MAX_PAYLOAD + 1)
        .read_to_end(&mut payload)
        .map_err(|e| format!("corrupt gzip stream: {e}"))?;
    if payload.len() as u64 > MAX_PAYLOAD {
        return Err(format!("decompresses to more than {MAX_PAYLOAD} bytes"));
    }
    Ok(payload)
}

fn verify(file: &FileSpec, payload: &[u8]) -> Result<(), String> {
    if let Some(n) = file.bytes {
        if n != payload.len() as u64 {
            return Err(format!(
                "checksum mismatch: payload is {} bytes, expected {n}",
                payload.len()
            ));
        }
    }
    let digest = sha256_hex(payload);
    if digest != file.sha256 {
        return Err(format!(
            "checksum mismatch: payload SHA-256 {digest}, expected {}",
            file.sha256
        ));
    }
    Ok(())
}
