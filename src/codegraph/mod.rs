//! The source files a Rust module depends on, found by reading the code: the module's own
//! file, its child modules, and transitively every crate module it names through `use`,
//! `crate::…`, `super::…`, `self::…` or a child module's name, plus files pulled in with
//! `include_bytes!` / `include_str!`. Re-exports (`pub use`) are followed only for the items
//! actually named through them, so naming `crate::engine::UnitJob` brings in the module that
//! defines `UnitJob`, not every module `engine` re-exports from.
//!
//! Used by `build.rs` (which includes this file with `#[path]`) to fingerprint each built-in
//! stage's code ([`stage_fingerprint`]), and by tests on copies of the source tree. It
//! depends on `std` and `sha2` only, which the build script has too.
//!
//! The reading is lexical, not a compiler's: it errs on the side of including a file.
//! Comments and string literals are skipped; `#[cfg(test)]` modules are left out, since
//! test code cannot change what a stage writes. Two things it cannot see, so the crate
//! avoids both: macros from other modules (it defines none), and methods written in an
//! `impl` block in another module than their type (a call `x.method()` names no module).

mod lex;
mod lock;
mod parse;
mod walk;

pub use lock::{locked_closure, parse_lock, LockedPackage};
pub use walk::{module_deps, CodeDeps};

use sha2::{Digest, Sha256};
use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// Why the files of a module could not be listed.
#[derive(Debug, Clone, PartialEq)]
pub enum DepsError {
    /// No `src/…/<name>.rs` or `…/<name>/mod.rs` for the module.
    NoModule(String),
    /// A file that should be read could not be.
    Unreadable(String),
}

impl std::fmt::Display for DepsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DepsError::NoModule(m) => write!(f, "no source file for module `{m}`"),
            DepsError::Unreadable(m) => write!(f, "{m}"),
        }
    }
}

/// A built-in stage's code fingerprint and what went into it, as (name, SHA-256 or value)
/// pairs: crate files, embedded files, declared `sources`, `(crate NAME VERSION)` with the
/// locked checksum of every external crate the code uses and everything those depend on
/// (from `Cargo.lock`; [`locked_closure`]), `(cargo dependencies)` and `(cargo profiles)`
/// (see [`cargo_sections`]), the [`Toolchain`]'s entries, and `(env NAME)` with the value
/// of each build-time variable the code embeds (a version or commit that lands in outputs).
#[derive(Debug, Clone, PartialEq)]
pub struct Fingerprint {
    pub digest: String,
    pub inputs: Vec<(String, String)>,
}

/// What built the code besides its sources, as the build script saw it. Another compiler,
/// profile or native library may compute other bytes from the same sources.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Toolchain {
    /// Entries in every stage's fingerprint: the compiler, the build profile and target,
    /// the crate's enabled features, as (name, value).
    pub common: Vec<(String, String)>,
    /// Native libraries, each entered only where the code names the crate that binds it:
    /// (that crate's name in code, entry name, the library's version or build).
    pub native: Vec<(String, String, String)>,
}

impl Toolchain {
    /// Every entry, common ones first, as (name, value).
    pub fn entries(&self) -> impl Iterator<Item = (&str, &str)> {
        let common = self.common.iter().map(|(n, v)| (n.as_str(), v.as_str()));
        let native = self.native.iter().map(|(_, n, v)| (n.as_str(), v.as_str()));
        common.chain(native)
    }

    /// The value of entry `name`, e.g. `(rustc)` or `(libhdf5)`.
    pub fn value(&self, name: &str) -> Option<&str> {
        self.entries().find(|(n, _)| *n == name).map(|(_, v)| v)
    }

    /// The build-time variable an entry reaches the crate in: `(build profile)` ->
    /// `REPRO_TOOLCHAIN_BUILD_PROFILE`.
    pub fn env_var(entry: &str) -> String {
        let bare = entry.trim_matches(|c| c == '(' || c == ')');
        format!("REPRO_TOOLCHAIN_{}", bare.to_uppercase().replace(' ', "_"))
    }

    /// The value behind build-time variable `var`, if it is one of the entries'.
    pub fn env_value(&self, var: &str) -> Option<&str> {
        self.entries()
            .find(|(n, _)| Self::env_var(n) == var)
            .map(|(_, v)| v)
    }
}

/// Fingerprints the code of built-in stage `name` (module `stages::<name>`) in the crate at
/// `crate_dir`, with its declared extra `sources` (files or folders), the toolchain that
/// builds it, and the values (from `build_env`) of the build-time variables its code reads.
pub fn stage_fingerprint(
    crate_dir: &Path,
    name: &str,
    sources: &[String],
    toolchain: &Toolchain,
    build_env: &dyn Fn(&str) -> Option<String>,
) -> Result<Fingerprint, DepsError> {
    let deps = module_deps(crate_dir, &["stages", name])?;
    let mut files: BTreeSet<PathBuf> = deps.files.union(&deps.embedded).cloned().collect();
    for source in sources {
        expand(crate_dir, Path::new(source), &mut files)?;
    }
    let mut inputs = Vec::new();
    for rel in &files {
        let bytes = std::fs::read(crate_dir.join(rel))
            .map_err(|e| DepsError::Unreadable(format!("{}: {e}", rel.display())))?;
        inputs.push((
            rel.to_string_lossy().replace('\\', "/"),
            hex(&Sha256::digest(&bytes)),
        ));
    }
    let read = |name: &str| {
        std::fs::read_to_string(crate_dir.join(name))
            .map_err(|e| DepsError::Unreadable(format!("{name}: {e}")))
    };
    let cargo_toml = read("Cargo.toml")?;
    for package in locked_closure(&read("Cargo.lock")?, &cargo_toml, &deps.extern_crates) {
        inputs.push((
            format!("(crate {} {})", package.name, package.version),
            package.identity,
        ));
    }
    let (dependencies, profiles) = cargo_sections(&cargo_toml);
    inputs.push((
        "(cargo dependencies)".into(),
        hex(&Sha256::digest(dependencies.as_bytes())),
    ));
    inputs.push((
        "(cargo profiles)".into(),
        hex(&Sha256::digest(profiles.as_bytes())),
    ));
    inputs.extend(toolchain.common.iter().cloned());
    for (code_name, entry, build) in &toolchain.native {
        if deps.extern_crates.contains(code_name) {
            inputs.push((entry.clone(), build.clone()));
        }
    }
    for var in &deps.build_env {
        let value = build_env(var).unwrap_or_else(|| "(unset)".into());
        inputs.push((format!("(env {var})"), value));
    }
    let mut hasher = Sha256::new();
    for (f, digest) in &inputs {
        hasher.update(f.as_bytes());
        hasher.update([0]);
        hasher.update(digest.as_bytes());
        hasher.update([0]);
    }
    Ok(Fingerprint {
        digest: hex(&hasher.finalize()),
        inputs,
    })
}

/// The parts of `Cargo.toml` that decide how the locked crates are built, as text without
/// comments or blank lines: (every dependency table with the crate's own `[features]`,
/// the `[profile…]` tables). Dependencies count whole, not only those of the crates a stage
/// uses, because Cargo unifies features: a crate added for another purpose can turn on a
/// feature of a crate the stage does use. Development and build dependencies are left out:
/// they build only the tests and the build script. Profile settings that change only what
/// is kept beside the machine code ([`DEBUG_ONLY_SETTINGS`]) are left out: they cannot
/// change a computed byte, and a key must not change with them.
pub fn cargo_sections(cargo_toml: &str) -> (String, String) {
    #[derive(PartialEq)]
    enum Table {
        Dependencies,
        Profile,
        Other,
    }
    let (mut dependencies, mut profiles) = (String::new(), String::new());
    let mut table = Table::Other;
    for line in cargo_toml.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if line.starts_with('[') {
            let header = line.trim_matches(|c| c == '[' || c == ']').trim();
            let is_dependencies = (header == "dependencies"
                || header.starts_with("dependencies.")
                || header == "features"
                || (header.starts_with("target.")
                    && (header.ends_with(".dependencies") || header.contains(".dependencies."))))
                && !header.contains("dev-dependencies");
            table = if is_dependencies {
                Table::Dependencies
            } else if header.starts_with("profile") {
                Table::Profile
            } else {
                Table::Other
            };
        } else if table == Table::Profile {
            let setting = line.split('=').next().unwrap_or_default().trim();
            if DEBUG_ONLY_SETTINGS.contains(&setting) {
                continue;
            }
        }
        let out = match table {
            Table::Dependencies => &mut dependencies,
            Table::Profile => &mut profiles,
            Table::Other => continue,
        };
        out.push_str(line);
        out.push('\n');
    }
    (dependencies, profiles)
}

/// Profile settings that decide only the debug information, symbols and incremental state
/// kept with a build, never the code it runs. (`debug-assertions` is not among them: it
/// turns checks in the code on and off.)
pub const DEBUG_ONLY_SETTINGS: &[&str] = &["debug", "split-debuginfo", "strip", "incremental"];

/// A file, or every file under a folder, relative to `base`.
fn expand(base: &Path, rel: &Path, out: &mut BTreeSet<PathBuf>) -> Result<(), DepsError> {
    let full = base.join(rel);
    if full.is_dir() {
        let rd = std::fs::read_dir(&full)
            .map_err(|e| DepsError::Unreadable(format!("{}: {e}", rel.display())))?;
        for e in rd.flatten() {
            expand(base, &rel.join(e.file_name()), out)?;
        }
        Ok(())
    } else if full.is_file() {
        out.insert(rel.to_path_buf());
        Ok(())
    } else {
        Err(DepsError::Unreadable(format!(
            "stage source {} does not exist",
            rel.display()
        )))
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

#[cfg(test)]
mod tests;
