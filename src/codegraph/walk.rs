//! Walking from a module through everything its code names, file by file.

use super::parse::{parse_source, Parsed};
use super::DepsError;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

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
                let f = normalise(&parent.parent().unwrap_or(Path::new("")).join(p));
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
