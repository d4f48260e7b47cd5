//! The locked packages behind the crates a stage's code names, read from `Cargo.lock`.

use std::collections::{BTreeMap, BTreeSet};

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
