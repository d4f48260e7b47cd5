use std::fmt;
use std::path::PathBuf;
use thiserror::Error;

/// A configuration problem, reported before anything runs.
#[derive(Debug, Error)]
pub enum ConfigError {
    #[error("cannot read {}: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// TOML syntax or type errors; toml's message already carries line and column.
    #[error("{}: {message}", path.display())]
    Syntax { path: PathBuf, message: String },
    #[error("{location}: {message}")]
    Invalid { location: Location, message: String },
}

/// `file:line: key `a.b`` or as much of it as is known.
#[derive(Debug, Clone)]
pub struct Location {
    pub file: PathBuf,
    pub line: Option<usize>,
    pub key: Option<String>,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        if let Some(key) = &self.key {
            write!(f, ": key `{key}`")?;
        }
        Ok(())
    }
}
