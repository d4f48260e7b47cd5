//! Build script:
//! 1. fingerprints each built-in stage's code: for every `stages/*.toml` of kind
//!    `builtin`, a SHA-256 over the files its `sources` list, so editing a stage's code
//!    invalidates exactly that stage's cache entries (and what depends on them);
//! 2. puts libtorch's folder into the binary's rpath, so `repro` runs without
//!    `LD_LIBRARY_PATH` (torch-sys links libtorch but does not record where it is).

use sha2::{Digest, Sha256};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

#[derive(serde::Deserialize)]
struct Decl {
    name: String,
    #[serde(default)]
    kind: Option<String>,
    #[serde(default)]
    sources: Vec<String>,
}

fn main() {
    let root = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap());
    println!("cargo:rerun-if-changed=stages");
    println!("cargo:rerun-if-env-changed=LIBTORCH");

    let mut table = String::from("pub const CODE_FINGERPRINTS: &[(&str, &str)] = &[\n");
    let mut files: Vec<PathBuf> = std::fs::read_dir(root.join("stages"))
        .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    files.sort();
    for file in files
        .iter()
        .filter(|f| f.extension().is_some_and(|e| e == "toml"))
    {
        println!("cargo:rerun-if-changed={}", file.display());
        let text = std::fs::read_to_string(file).unwrap();
        // Malformed declarations are reported properly at run time; skip them here.
        let Ok(decl) = toml::from_str::<Decl>(&text) else {
            continue;
        };
        if decl.kind.as_deref().unwrap_or("builtin") != "builtin" {
            continue;
        }
        let mut hasher = Sha256::new();
        for source in &decl.sources {
            for f in expand(&root.join(source)) {
                println!("cargo:rerun-if-changed={}", f.display());
                let rel = f.strip_prefix(&root).unwrap_or(&f);
                hasher.update(rel.to_string_lossy().as_bytes());
                hasher.update([0]);
                hasher.update(std::fs::read(&f).unwrap_or_default());
                hasher.update([0]);
            }
        }
        let digest: String = hasher.finalize().iter().fold(String::new(), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        });
        let _ = writeln!(table, "    ({:?}, {:?}),", decl.name, digest);
    }
    table.push_str("];\n");
    let out = PathBuf::from(std::env::var("OUT_DIR").unwrap()).join("fingerprints.rs");
    std::fs::write(out, table).unwrap();

    if let Ok(libtorch) = std::env::var("LIBTORCH") {
        println!("cargo:rustc-link-arg=-Wl,-rpath,{libtorch}/lib");
        // The wheel's torch/version.py names the libtorch version, for the report.
        let version = std::fs::read_to_string(format!("{libtorch}/version.py"))
            .ok()
            .and_then(|t| {
                t.lines()
                    .find(|l| l.starts_with("__version__"))
                    .and_then(|l| l.split('\'').nth(1).map(String::from))
            })
            .unwrap_or_else(|| "unknown".into());
        println!("cargo:rustc-env=REPRO_LIBTORCH_VERSION={version}");
    } else {
        println!("cargo:rustc-env=REPRO_LIBTORCH_VERSION=unknown");
    }
    // The commit repro was built from, for the report's provenance.
    let commit = std::process::Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .current_dir(&root)
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_else(|| "unknown".into());
    println!("cargo:rustc-env=REPRO_GIT_COMMIT={commit}");
    println!("cargo:rerun-if-changed=.git/HEAD");
    println!("cargo:rerun-if-changed=.git/refs/heads");
}

/// A file, or every file under a folder, in a stable order.
fn expand(path: &Path) -> Vec<PathBuf> {
    if path.is_dir() {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(path)
            .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).collect())
            .unwrap_or_default();
        entries.sort();
        entries.iter().flat_map(|p| expand(p)).collect()
    } else if path.is_file() {
        vec![path.to_path_buf()]
    } else {
        panic!("stage source {} does not exist", path.display());
    }
}
