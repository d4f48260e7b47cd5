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

use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet};
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
    /// The value of entry `name`, e.g. `(rustc)` or `(libhdf5)`.
    pub fn value(&self, name: &str) -> Option<&str> {
        let common = self.common.iter().map(|(n, v)| (n, v));
        let native = self.native.iter().map(|(_, n, v)| (n, v));
        common
            .chain(native)
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The build-time variable an entry reaches the crate in: `(build profile)` ->
    /// `REPRO_TOOLCHAIN_BUILD_PROFILE`.
    pub fn env_var(entry: &str) -> String {
        let bare = entry.trim_matches(|c| c == '(' || c == ')');
        format!("REPRO_TOOLCHAIN_{}", bare.to_uppercase().replace(' ', "_"))
    }

    /// The value behind build-time variable `var`, if it is one of the entries'.
    pub fn env_value(&self, var: &str) -> Option<&str> {
        let common = self.common.iter().map(|(n, v)| (n, v));
        let native = self.native.iter().map(|(_, n, v)| (n, v));
        common
            .chain(native)
            .find(|(n, _)| Self::env_var(n) == var)
            .map(|(_, v)| v.as_str())
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
/// they build only the tests and the build script.
pub fn cargo_sections(cargo_toml: &str) -> (String, String) {
    let (mut dependencies, mut profiles) = (String::new(), String::new());
    let mut into: Option<&mut String> = None;
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
            into = if is_dependencies {
                Some(&mut dependencies)
            } else if header.starts_with("profile") {
                Some(&mut profiles)
            } else {
                None
            };
        }
        if let Some(out) = into.as_deref_mut() {
            out.push_str(line);
            out.push('\n');
        }
    }
    (dependencies, profiles)
}

/// One `[[package]]` of a `Cargo.lock`.
#[derive(Debug, Clone, PartialEq)]
pub struct LockedPackage {
    pub name: String,
    pub version: String,
    /// The registry checksum, else the source (a git commit), else `local`.
    pub identity: String,
    /// Entries of its `dependencies` list: `name`, or `name version`, or
    /// `name version (source)`.
    dependencies: Vec<String>,
    has_source: bool,
}

/// The packages of a `Cargo.lock` file, read line by line (its format is fixed: cargo
/// writes one key per line).
pub fn parse_lock(lock: &str) -> Vec<LockedPackage> {
    let mut packages = Vec::new();
    let mut current: Option<LockedPackage> = None;
    let mut in_dependencies = false;
    let quoted = |v: &str| v.trim().trim_end_matches(',').trim_matches('"').to_string();
    for line in lock.lines().map(str::trim) {
        if line == "[[package]]" {
            packages.extend(current.take());
            current = Some(LockedPackage {
                name: String::new(),
                version: String::new(),
                identity: "local".into(),
                dependencies: Vec::new(),
                has_source: false,
            });
            in_dependencies = false;
            continue;
        }
        let Some(package) = current.as_mut() else {
            continue;
        };
        if in_dependencies {
            if line.starts_with(']') {
                in_dependencies = false;
            } else if !line.is_empty() {
                package.dependencies.push(quoted(line));
            }
            continue;
        }
        let Some((key, value)) = line.split_once(" = ") else {
            continue;
        };
        match key {
            "name" => package.name = quoted(value),
            "version" => package.version = quoted(value),
            "source" => {
                package.has_source = true;
                if package.identity == "local" {
                    package.identity = quoted(value);
                }
            }
            "checksum" => package.identity = quoted(value),
            "dependencies" => in_dependencies = !value.contains(']'),
            _ => {}
        }
    }
    packages.extend(current);
    packages
}

/// `Cargo.toml` dependencies the code knows by another name than the package's
/// (`hdf5 = { package = "hdf5-metno", ... }`): package name to the name in code.
fn renamed_dependencies(cargo_toml: &str) -> BTreeMap<String, String> {
    cargo_toml
        .lines()
        .filter_map(|line| {
            let (key, value) = line.split_once('=')?;
            let after = value
                .split_once("package")?
                .1
                .trim_start()
                .strip_prefix('=')?;
            let package = after.trim_start().strip_prefix('"')?.split('"').next()?;
            Some((package.to_string(), key.trim().to_string()))
        })
        .collect()
}

/// The locked packages behind the external crates `externs` (names as the code writes
/// them, e.g. `hdf5`, `serde_json`) and, transitively, everything they depend on, sorted
/// by name and version. Names in `externs` that are not dependencies of this crate
/// (`std`, `Vec`) match nothing.
pub fn locked_closure(
    lock: &str,
    cargo_toml: &str,
    externs: &BTreeSet<String>,
) -> Vec<LockedPackage> {
    let packages = parse_lock(lock);
    let renamed = renamed_dependencies(cargo_toml);
    let code_name = |package: &str| {
        renamed
            .get(package)
            .cloned()
            .unwrap_or_else(|| package.replace('-', "_"))
    };
    let resolve = |entry: &str| -> Vec<usize> {
        let mut parts = entry.split_whitespace();
        let name = parts.next().unwrap_or_default();
        let version = parts.next();
        (0..packages.len())
            .filter(|&i| {
                packages[i].name == name && version.is_none_or(|v| packages[i].version == v)
            })
            .collect()
    };
    // The crate itself and any other path packages carry no source; their dependency
    // lists are the crates the code can name.
    let mut todo: Vec<usize> = packages
        .iter()
        .filter(|p| !p.has_source)
        .flat_map(|p| p.dependencies.iter())
        .flat_map(|entry| resolve(entry))
        .filter(|&i| externs.contains(&code_name(&packages[i].name)))
        .collect();
    let mut seen = BTreeSet::new();
    while let Some(i) = todo.pop() {
        if seen.insert(i) {
            todo.extend(packages[i].dependencies.iter().flat_map(|e| resolve(e)));
        }
    }
    let mut closure: Vec<LockedPackage> = seen.into_iter().map(|i| packages[i].clone()).collect();
    closure.sort_by(|a, b| (&a.name, &a.version).cmp(&(&b.name, &b.version)));
    closure
}

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

/// What a walk found: crate source files (relative to the crate root), other files the
/// code embeds, and the first segments of paths that lead out of the crate (external
/// crates such as `tch`, and also prelude types such as `Vec`).
#[derive(Debug, Default, Clone, PartialEq)]
pub struct CodeDeps {
    pub files: BTreeSet<PathBuf>,
    pub embedded: BTreeSet<PathBuf>,
    pub extern_crates: BTreeSet<String>,
    /// Build-time environment variables the code reads with `env!`.
    pub build_env: BTreeSet<String>,
}

/// Everything module `root` (e.g. `["stages", "train"]`) uses, with all of its own child
/// modules. `crate_dir` holds `src/`; paths in the result are relative to it.
pub fn module_deps(crate_dir: &Path, root: &[&str]) -> Result<CodeDeps, DepsError> {
    let mut walk = Walk {
        crate_dir: crate_dir.to_path_buf(),
        parsed: BTreeMap::new(),
        deps: CodeDeps::default(),
        done_whole: BTreeSet::new(),
        done_items: BTreeSet::new(),
    };
    let root: Vec<String> = root.iter().map(|s| s.to_string()).collect();
    let file = walk
        .module_file(&root)
        .ok_or_else(|| DepsError::NoModule(root.join("::")))?;
    walk.subtree(&root, &file)?;
    Ok(walk.deps)
}

/// A parsed source file.
#[derive(Debug, Default)]
struct Parsed {
    /// `mod name;` declarations outside tests, with a `#[path]` if one is given.
    children: Vec<(String, Option<String>)>,
    /// Private `use` paths and every other path expression: followed whenever the file is.
    uses: Vec<Vec<String>>,
    /// `pub use` re-exports as (name visible here, full path); `*` for globs.
    reexports: Vec<(String, Vec<String>)>,
    /// Every name a `use` brings into scope, public or not, as (name, path as written):
    /// a later path starting with the name (an alias from `use … as` too) continues there.
    scope: Vec<(String, Vec<String>)>,
    /// String arguments of `include_bytes!` / `include_str!`.
    includes: Vec<String>,
    /// Names read with `env!`.
    envs: Vec<String>,
}

struct Walk {
    crate_dir: PathBuf,
    parsed: BTreeMap<PathBuf, Parsed>,
    deps: CodeDeps,
    done_whole: BTreeSet<Vec<String>>,
    done_items: BTreeSet<Vec<String>>,
}

impl Walk {
    /// `src/a/b.rs` or `src/a/b/mod.rs` for module path `a::b`; `src/lib.rs` for the root.
    fn module_file(&self, module: &[String]) -> Option<PathBuf> {
        if module.is_empty() {
            return Some(PathBuf::from("src/lib.rs"));
        }
        let base = PathBuf::from("src").join(module.join("/"));
        [base.with_extension("rs"), base.join("mod.rs")]
            .into_iter()
            .find(|p| self.crate_dir.join(p).is_file())
    }

    fn parse(&mut self, file: &Path) -> Result<&Parsed, DepsError> {
        if !self.parsed.contains_key(file) {
            let text = std::fs::read_to_string(self.crate_dir.join(file))
                .map_err(|e| DepsError::Unreadable(format!("{}: {e}", file.display())))?;
            self.parsed.insert(file.to_path_buf(), parse_source(&text));
        }
        Ok(&self.parsed[file])
    }

    /// A module and all of its child modules, each followed wholly.
    fn subtree(&mut self, module: &[String], file: &Path) -> Result<(), DepsError> {
        self.whole(module, file)?;
        let children = self.parse(file)?.children.clone();
        for (name, path_attr) in children {
            let mut child = module.to_vec();
            child.push(name);
            if let Some(f) = self.child_file(file, &child, path_attr.as_deref()) {
                self.subtree(&child, &f)?;
            }
        }
        Ok(())
    }

    fn child_file(
        &self,
        parent: &Path,
        child: &[String],
        path_attr: Option<&str>,
    ) -> Option<PathBuf> {
        match path_attr {
            Some(p) => {
                let f = parent.parent().unwrap_or(Path::new("")).join(p);
                self.crate_dir.join(&f).is_file().then_some(f)
            }
            None => self.module_file(child),
        }
    }

    /// Includes a module's file and follows what its code uses.
    fn whole(&mut self, module: &[String], file: &Path) -> Result<(), DepsError> {
        if !self.done_whole.insert(module.to_vec()) {
            return Ok(());
        }
        self.deps.files.insert(file.to_path_buf());
        let parsed = self.parse(file)?;
        // A path through a name some `use` brought in (`eng::cache::Cache` after `use
        // crate::engine as eng`) is read as the path that name stands for.
        let uses: Vec<Vec<String>> = parsed
            .uses
            .iter()
            .map(|path| {
                let through = parsed
                    .scope
                    .iter()
                    .filter(|_| path.len() > 1)
                    .find(|(name, _)| *name == path[0])
                    // `use tch;` names the crate itself: nothing to continue through.
                    .filter(|(name, target)| target.len() > 1 || target[0] != *name);
                match through {
                    Some((_, target)) => target.iter().chain(&path[1..]).cloned().collect(),
                    None => path.clone(),
                }
            })
            .collect();
        let children: Vec<(String, Option<String>)> = parsed.children.clone();
        let includes = parsed.includes.clone();
        let envs = parsed.envs.clone();
        self.deps.build_env.extend(envs);
        let dir = file.parent().unwrap_or(Path::new("")).to_path_buf();
        for inc in includes {
            self.deps.embedded.insert(normalise(&dir.join(inc)));
        }
        for path in uses {
            let Some(abs) = absolute(module, &children, &path) else {
                if let Some(first) = path.first() {
                    self.deps.extern_crates.insert(first.clone());
                }
                continue;
            };
            // A child module named through a `#[path]` lives where the attribute says.
            if let (Some((_, Some(p))), true) = (
                children
                    .iter()
                    .find(|(n, _)| Some(n) == abs.get(module.len())),
                abs.len() > module.len() && abs[..module.len()] == *module,
            ) {
                let child = abs[..=module.len()].to_vec();
                if let Some(f) = self.child_file(file, &child, Some(p)) {
                    self.whole(&child, &f)?;
                    continue;
                }
            }
            self.item(&abs)?;
        }
        Ok(())
    }

    /// Resolves an absolute path: the deepest module file on it is followed wholly, and a
    /// name re-exported there is chased to where it is defined.
    fn item(&mut self, path: &[String]) -> Result<(), DepsError> {
        if !self.done_items.insert(path.to_vec()) {
            return Ok(());
        }
        let Some((depth, file)) = (0..=path.len())
            .rev()
            .find_map(|n| self.module_file(&path[..n]).map(|f| (n, f)))
        else {
            return Ok(());
        };
        let module = path[..depth].to_vec();
        self.whole(&module, &file)?;
        let Some(name) = path.get(depth) else {
            return Ok(());
        };
        let rest = &path[depth + 1..];
        let parsed = self.parse(&file)?;
        let children = parsed.children.clone();
        let targets: Vec<Vec<String>> = parsed
            .reexports
            .iter()
            .filter(|(visible, _)| visible == name || visible == "*")
            .map(|(visible, target)| {
                let mut t = target.clone();
                if visible == "*" {
                    t.push(name.clone());
                }
                t.extend(rest.iter().cloned());
                t
            })
            .collect();
        for t in targets {
            if let Some(abs) = absolute(&module, &children, &t) {
                self.item(&abs)?;
            }
        }
        Ok(())
    }
}

/// Turns a path as written in module `module` into one from the crate root; `None` for a
/// path into another crate.
fn absolute(
    module: &[String],
    children: &[(String, Option<String>)],
    path: &[String],
) -> Option<Vec<String>> {
    let first = path.first()?;
    let mut base: Vec<String> = match first.as_str() {
        "crate" => Vec::new(),
        "self" => module.to_vec(),
        "super" => module.to_vec(),
        name if children.iter().any(|(n, _)| n == name) => {
            let mut m = module.to_vec();
            m.push(name.to_string());
            m
        }
        _ => return None,
    };
    let mut rest = &path[1..];
    if first == "super" {
        base.pop();
        while rest.first().map(String::as_str) == Some("super") {
            base.pop();
            rest = &rest[1..];
        }
    }
    base.extend(rest.iter().filter(|s| *s != "self").cloned());
    Some(base)
}

fn normalise(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            std::path::Component::ParentDir => {
                out.pop();
            }
            std::path::Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    Str(String),
    PathSep,
    Punct(char),
}

/// Splits Rust source into identifiers, string literals, `::` and single punctuation,
/// dropping comments, whitespace, numbers, character literals and lifetimes.
fn lex(text: &str) -> Vec<Tok> {
    let c: Vec<char> = text.chars().collect();
    let mut toks = Vec::new();
    let mut i = 0;
    while i < c.len() {
        let ch = c[i];
        if ch == '/' && c.get(i + 1) == Some(&'/') {
            while i < c.len() && c[i] != '\n' {
                i += 1;
            }
        } else if ch == '/' && c.get(i + 1) == Some(&'*') {
            let mut depth = 0;
            while i < c.len() {
                if c[i] == '/' && c.get(i + 1) == Some(&'*') {
                    depth += 1;
                    i += 2;
                } else if c[i] == '*' && c.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
        } else if ch == '"' {
            let (s, next) = quoted(&c, i + 1);
            toks.push(Tok::Str(s));
            i = next;
        } else if (ch == 'r' || ch == 'b') && raw_string_start(&c, i).is_some() {
            let (hashes, open) = raw_string_start(&c, i).unwrap_or((0, i));
            let mut j = open + 1;
            let mut s = String::new();
            while j < c.len() {
                if c[j] == '"' && (1..=hashes).all(|k| c.get(j + k) == Some(&'#')) {
                    j += 1 + hashes;
                    break;
                }
                s.push(c[j]);
                j += 1;
            }
            toks.push(Tok::Str(s));
            i = j;
        } else if ch == 'b' && c.get(i + 1) == Some(&'"') {
            let (s, next) = quoted(&c, i + 2);
            toks.push(Tok::Str(s));
            i = next;
        } else if ch == '\'' {
            // A character literal ('x', '\n', '\u{..}') or a lifetime ('a).
            if c.get(i + 1) == Some(&'\\') {
                i += 2;
                while i < c.len() && c[i] != '\'' {
                    i += 1;
                }
                i += 1;
            } else if c.get(i + 2) == Some(&'\'') {
                i += 3;
            } else {
                i += 1;
            }
        } else if ch.is_alphabetic() || ch == '_' {
            let start = i;
            while i < c.len() && (c[i].is_alphanumeric() || c[i] == '_') {
                i += 1;
            }
            toks.push(Tok::Ident(c[start..i].iter().collect()));
        } else if ch.is_ascii_digit() {
            while i < c.len() && (c[i].is_alphanumeric() || c[i] == '_' || c[i] == '.') {
                if c[i] == '.' && c.get(i + 1) == Some(&'.') {
                    break;
                }
                i += 1;
            }
        } else if ch == ':' && c.get(i + 1) == Some(&':') {
            toks.push(Tok::PathSep);
            i += 2;
        } else if ch.is_whitespace() {
            i += 1;
        } else {
            toks.push(Tok::Punct(ch));
            i += 1;
        }
    }
    toks
}

/// The content of a `"…"` literal starting after its quote, and the index after it.
fn quoted(c: &[char], mut i: usize) -> (String, usize) {
    let mut s = String::new();
    while i < c.len() && c[i] != '"' {
        if c[i] == '\\' {
            i += 1;
        }
        if let Some(&ch) = c.get(i) {
            s.push(ch);
        }
        i += 1;
    }
    (s, i + 1)
}

/// `r"`, `r#"`, `br#"`…: the number of `#` and the index of the opening quote.
fn raw_string_start(c: &[char], i: usize) -> Option<(usize, usize)> {
    if i > 0 && (c[i - 1].is_alphanumeric() || c[i - 1] == '_') {
        return None;
    }
    let mut j = i;
    if c[j] == 'b' {
        j += 1;
    }
    if c.get(j) != Some(&'r') {
        return None;
    }
    j += 1;
    let mut hashes = 0;
    while c.get(j) == Some(&'#') {
        hashes += 1;
        j += 1;
    }
    (c.get(j) == Some(&'"')).then_some((hashes, j))
}

fn parse_source(text: &str) -> Parsed {
    let toks = lex(text);
    let mut out = Parsed::default();
    let ident = |i: usize| match toks.get(i) {
        Some(Tok::Ident(s)) => Some(s.as_str()),
        _ => None,
    };
    let mut i = 0;
    let mut test_only = false;
    let mut path_attr: Option<String> = None;
    while i < toks.len() {
        // Attributes: remember `cfg(test)` and `path = "…"` for the item that follows.
        if toks[i] == Tok::Punct('#') && toks.get(i + 1) == Some(&Tok::Punct('[')) {
            let end = matching(&toks, i + 1, '[', ']');
            let inner = &toks[i + 2..end.min(toks.len())];
            if inner.first() == Some(&Tok::Ident("cfg".into()))
                && inner.contains(&Tok::Ident("test".into()))
                && !inner.contains(&Tok::Ident("not".into()))
            {
                test_only = true;
            }
            if let [Tok::Ident(p), Tok::Punct('='), Tok::Str(s)] = inner {
                if p == "path" {
                    path_attr = Some(s.clone());
                }
            }
            i = end + 1;
            continue;
        }
        match ident(i) {
            Some("mod") => {
                if let Some(name) = ident(i + 1) {
                    match toks.get(i + 2) {
                        Some(Tok::Punct(';')) => {
                            if !test_only {
                                out.children.push((name.to_string(), path_attr.clone()));
                            }
                            i += 3;
                        }
                        Some(Tok::Punct('{')) if test_only => {
                            i = matching(&toks, i + 2, '{', '}') + 1;
                        }
                        _ => i += 2,
                    }
                } else {
                    i += 1;
                }
                test_only = false;
                path_attr = None;
                continue;
            }
            Some("use") => {
                let public = i > 0
                    && (ident(i - 1) == Some("pub")
                        || (toks[i - 1] == Tok::Punct(')')
                            && (1..i).rev().take(4).any(|k| ident(k) == Some("pub"))));
                let end = (i..toks.len())
                    .find(|&k| toks[k] == Tok::Punct(';'))
                    .unwrap_or(toks.len());
                let mut paths = Vec::new();
                use_tree(&toks[i + 1..end], &[], &mut paths);
                for (visible, path) in paths {
                    if !test_only && visible != "*" {
                        out.scope.push((visible.clone(), path.clone()));
                    }
                    if public && !test_only {
                        out.reexports.push((visible, path));
                    } else if !test_only {
                        out.uses.push(path);
                    }
                }
                i = end + 1;
                test_only = false;
                path_attr = None;
                continue;
            }
            Some(m @ ("include_bytes" | "include_str" | "env"))
                if toks.get(i + 1) == Some(&Tok::Punct('!')) =>
            {
                if let Some(Tok::Str(s)) = toks.get(i + 3) {
                    if !test_only {
                        if m == "env" {
                            out.envs.push(s.clone());
                        } else {
                            out.includes.push(s.clone());
                        }
                    }
                }
                i += 4;
                continue;
            }
            Some(_) => {
                // A path expression: a run of `ident (:: ident)*` not preceded by `::`.
                let starts_path = toks.get(i + 1) == Some(&Tok::PathSep)
                    && (i == 0 || toks[i - 1] != Tok::PathSep);
                if starts_path {
                    let mut path = Vec::new();
                    let mut k = i;
                    while let Some(seg) = ident(k) {
                        path.push(seg.to_string());
                        if toks.get(k + 1) == Some(&Tok::PathSep) {
                            k += 2;
                        } else {
                            break;
                        }
                    }
                    if !test_only {
                        out.uses.push(path);
                    }
                    i = k + 1;
                    continue;
                }
            }
            None => {}
        }
        // `;` or a closing brace ends whatever item an attribute was attached to.
        if matches!(toks[i], Tok::Punct(';') | Tok::Punct('}')) {
            test_only = false;
            path_attr = None;
        }
        // A `#[cfg(test)]` function or impl block: skip its body.
        if test_only && toks[i] == Tok::Punct('{') {
            i = matching(&toks, i, '{', '}') + 1;
            test_only = false;
            path_attr = None;
            continue;
        }
        i += 1;
    }
    out
}

/// Index of the token closing the bracket opened at `open`.
fn matching(toks: &[Tok], open: usize, l: char, r: char) -> usize {
    let mut depth = 0;
    for (k, t) in toks.iter().enumerate().skip(open) {
        if *t == Tok::Punct(l) {
            depth += 1;
        } else if *t == Tok::Punct(r) {
            depth -= 1;
            if depth == 0 {
                return k;
            }
        }
    }
    toks.len()
}

/// Expands a use tree (`a::b::{c, d::e as f, g::*}`) into (visible name, full path) pairs.
fn use_tree(toks: &[Tok], prefix: &[String], out: &mut Vec<(String, Vec<String>)>) {
    let mut i = 0;
    let mut path = prefix.to_vec();
    while i < toks.len() {
        match &toks[i] {
            Tok::Ident(s) if s == "as" => {
                if let Some(Tok::Ident(alias)) = toks.get(i + 1) {
                    out.push((alias.clone(), path.clone()));
                }
                path = prefix.to_vec();
                i += 2;
                // Skip to the next `,` of this level.
                while i < toks.len() && toks[i] != Tok::Punct(',') {
                    i += 1;
                }
            }
            Tok::Ident(s) => {
                path.push(s.clone());
                i += 1;
            }
            Tok::PathSep => i += 1,
            Tok::Punct('*') => {
                out.push(("*".into(), path.clone()));
                path = prefix.to_vec();
                i += 1;
            }
            Tok::Punct('{') => {
                let end = matching(toks, i, '{', '}');
                use_tree(&toks[i + 1..end.min(toks.len())], &path, out);
                path = prefix.to_vec();
                i = end + 1;
            }
            Tok::Punct(',') => {
                flush(&mut path, prefix, out);
                i += 1;
            }
            _ => i += 1,
        }
    }
    flush(&mut path, prefix, out);
}

fn flush(path: &mut Vec<String>, prefix: &[String], out: &mut Vec<(String, Vec<String>)>) {
    if path.len() > prefix.len() {
        let mut p = std::mem::replace(path, prefix.to_vec());
        // `use a::b::{self}` names module `b` itself.
        if p.last().map(String::as_str) == Some("self") {
            p.pop();
        }
        if let Some(last) = p.last() {
            out.push((last.clone(), p));
        }
    } else {
        *path = prefix.to_vec();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A hand-made lock: two versions of `foo`, `bar` pinned to one of them, `baz` used
    /// by no code, `store` renamed to `blob` in Cargo.toml, and a git package.
    #[test]
    fn locked_closure_follows_dependencies_of_the_crates_the_code_names() {
        let lock = r#"
version = 4

[[package]]
name = "app"
version = "0.1.0"
dependencies = [
 "bar",
 "baz",
 "store",
]

[[package]]
name = "bar"
version = "0.5.0"
source = "registry+https://github.com/rust-lang/crates.io-index"
checksum = "b5"
dependencies = [
 "foo 1.0.0",
]

[[package]]
name = "baz"
version = "0.1.0"
source = "registry+https://github.com/rust-lang/crates.io-index"
checksum = "bz"
dependencies = [
 "foo 2.0.0",
]

[[package]]
name = "foo"
version = "1.0.0"
source = "registry+https://github.com/rust-lang/crates.io-index"
checksum = "f1"

[[package]]
name = "foo"
version = "2.0.0"
source = "registry+https://github.com/rust-lang/crates.io-index"
checksum = "f2"

[[package]]
name = "store"
version = "3.0.0"
source = "git+https://example.org/store?rev=abc#abc"
"#;
        let toml =
            "[dependencies]\nbar = \"0.5\"\nblob = { package = \"store\", version = \"3\" }\n";
        let names = |externs: &[&str]| -> Vec<(String, String, String)> {
            let externs = externs.iter().map(|s| s.to_string()).collect();
            locked_closure(lock, toml, &externs)
                .into_iter()
                .map(|p| (p.name, p.version, p.identity))
                .collect()
        };
        let entry = |n: &str, v: &str, i: &str| (n.to_string(), v.to_string(), i.to_string());
        assert_eq!(
            names(&["bar", "std", "Vec"]),
            vec![entry("bar", "0.5.0", "b5"), entry("foo", "1.0.0", "f1")]
        );
        assert_eq!(
            names(&["blob"]),
            vec![entry(
                "store",
                "3.0.0",
                "git+https://example.org/store?rev=abc#abc"
            )]
        );
        // The package name is not the name code uses when Cargo.toml renames it.
        assert_eq!(names(&["store"]), vec![]);
    }

    fn tree(files: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for (path, text) in files {
            let p = dir.path().join(path);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, text).unwrap();
        }
        dir
    }

    fn files(deps: &CodeDeps) -> Vec<String> {
        deps.files.iter().map(|p| p.display().to_string()).collect()
    }

    #[test]
    fn expands_use_trees() {
        let toks = lex("crate::a::{b, c::d as e, f::*, g::{self, h}}");
        let mut out = Vec::new();
        use_tree(&toks, &[], &mut out);
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert_eq!(
            out,
            vec![
                ("b".into(), s(&["crate", "a", "b"])),
                ("e".into(), s(&["crate", "a", "c", "d"])),
                ("*".into(), s(&["crate", "a", "f"])),
                ("g".into(), s(&["crate", "a", "g"])),
                ("h".into(), s(&["crate", "a", "g", "h"])),
            ]
        );
    }

    #[test]
    fn follows_uses_reexports_and_children_but_not_tests_or_strings() {
        let d = tree(&[
            ("src/lib.rs", "pub mod engine; pub mod stages; pub mod rng; pub mod unused;"),
            ("src/engine/mod.rs", "pub mod cache;\npub mod stage;\npub use stage::Job;\n"),
            ("src/engine/stage.rs", "pub struct Job;"),
            ("src/engine/cache.rs", "pub struct Cache;"),
            ("src/rng.rs", "pub fn r() {}"),
            ("src/unused.rs", "pub fn u() {}"),
            ("src/helper/mod.rs", "pub mod deep;\npub fn h() { deep::x() }"),
            ("src/helper/deep.rs", "pub fn x() { let _ = include_bytes!(\"../../assets/f.bin\"); }"),
            (
                "src/stages/train.rs",
                "//! Docs naming crate::unused::u are not code.\n\
                 use crate::engine::Job;\nmod part;\n\
                 fn f() { let s = \"crate::unused::u\"; let c = '\"'; crate::helper::h(); tch::no(); }\n\
                 #[cfg(test)]\nmod tests { use crate::unused::u; }\n\
                 #[cfg(test)]\n#[path = \"t.rs\"]\nmod more;\n",
            ),
            ("src/stages/train/part.rs", "use super::super::super::rng::r;"),
            ("src/stages/t.rs", "use crate::unused::u;"),
        ]);
        let deps = module_deps(d.path(), &["stages", "train"]).unwrap();
        assert_eq!(
            files(&deps),
            vec![
                "src/engine/mod.rs",
                "src/engine/stage.rs",
                "src/helper/deep.rs",
                "src/helper/mod.rs",
                "src/rng.rs",
                // PathBuf orders by component: `train/part.rs` before `train.rs`.
                "src/stages/train/part.rs",
                "src/stages/train.rs",
            ]
        );
        assert_eq!(
            deps.embedded
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>(),
            vec!["assets/f.bin"]
        );
        assert!(deps.extern_crates.contains("tch"));
    }

    #[test]
    fn names_brought_in_by_use_or_use_as_lead_to_their_modules() {
        let d = tree(&[
            (
                "src/lib.rs",
                "pub mod engine; pub mod stages; pub mod helper;",
            ),
            ("src/engine/mod.rs", "pub mod cache;\npub mod publish;"),
            ("src/engine/cache.rs", "pub struct Cache;"),
            ("src/engine/publish.rs", "pub fn publish() {}"),
            ("src/helper/mod.rs", "pub mod deep;"),
            ("src/helper/deep.rs", "pub fn x() {}"),
            (
                "src/stages/train.rs",
                "use crate::engine as eng;\nuse crate::helper;\nuse hdf5 as h5;\n\
                 fn f() { let _ = eng::cache::Cache; helper::deep::x(); h5::File::open(); }\n",
            ),
        ]);
        let deps = module_deps(d.path(), &["stages", "train"]).unwrap();
        assert_eq!(
            files(&deps),
            vec![
                "src/engine/cache.rs",
                "src/engine/mod.rs",
                "src/helper/deep.rs",
                "src/helper/mod.rs",
                "src/stages/train.rs",
            ]
        );
        // The crate's real name, not the alias, is what Cargo.lock knows.
        assert!(deps.extern_crates.contains("hdf5"));
        assert!(!deps.extern_crates.contains("h5"));
    }

    #[test]
    fn a_missing_module_is_an_error() {
        let d = tree(&[("src/lib.rs", "")]);
        assert!(module_deps(d.path(), &["stages", "nope"]).is_err());
    }
}
