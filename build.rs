//! Build script:
//! 1. fingerprints each built-in stage's code. For every `stages/*.toml` of kind `builtin`
//!    it reads the stage's module (`src/stages/<name>.rs`) and, transitively, every crate
//!    module that code uses (see `src/codegraph/`), so no hand-kept list can go stale.
//!    The fingerprint is a SHA-256 over those files, the files they embed, the declared
//!    `sources` (non-Rust files the stage reads at run time), the locked versions of the
//!    external crates the code uses and their dependencies (from `Cargo.lock`), and, for stages whose code calls libtorch, the linked libtorch's version
//!    and build. The table of files behind each fingerprint goes into the binary too
//!    (`repro status --explain`);
//! 2. puts libtorch's folder into the binary's rpath, so `repro` runs without
//!    `LD_LIBRARY_PATH` (torch-sys links libtorch but does not record where it is).

#[path = "src/codegraph/mod.rs"]
#[allow(dead_code, unused_imports)]
mod codegraph;

use std::fmt::Write as _;
use std::path::PathBuf;

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
    // Any source change may change which files a stage uses; the scan takes milliseconds.
    for watched in ["stages", "src", "assets", "Cargo.lock", "Cargo.toml"] {
        println!("cargo:rerun-if-changed={watched}");
    }
    for var in ["LIBTORCH", "HDF5_DIR", "PKG_CONFIG_PATH"] {
        println!("cargo:rerun-if-env-changed={var}");
    }
    let libtorch = libtorch_build();
    let toolchain = toolchain(&libtorch);
    let commit = git_commit(&root);
    // Values the crate's `env!` reads, as the compiler will see them.
    let build_env = |name: &str| match name {
        "REPRO_LIBTORCH_VERSION" => Some(libtorch.clone()),
        "REPRO_GIT_COMMIT" => Some(commit.clone()),
        other => toolchain
            .env_value(other)
            .map(String::from)
            .or_else(|| std::env::var(other).ok()),
    };

    let mut table = String::from(
        "/// (file, SHA-256) of each input of a fingerprint.\n\
         pub type FingerprintInputs = &'static [(&'static str, &'static str)];\n\
         /// (stage, fingerprint, its inputs) for every built-in stage.\n\
         pub const CODE_FINGERPRINTS: &[(&str, &str, FingerprintInputs)] = &[\n",
    );
    let mut files: Vec<PathBuf> = std::fs::read_dir(root.join("stages"))
        .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    files.sort();
    for file in files
        .iter()
        .filter(|f| f.extension().is_some_and(|e| e == "toml"))
    {
        let text = std::fs::read_to_string(file).unwrap();
        // Malformed declarations are reported properly at run time; skip them here.
        let Ok(decl) = toml::from_str::<Decl>(&text) else {
            continue;
        };
        if decl.kind.as_deref().unwrap_or("builtin") != "builtin" {
            continue;
        }
        let print = match codegraph::stage_fingerprint(
            &root,
            &decl.name,
            &decl.sources,
            &toolchain,
            &build_env,
        ) {
            Ok(p) => p,
            // An unknown built-in name is a configuration error reported at run time.
            Err(codegraph::DepsError::NoModule(_)) => continue,
            Err(e) => panic!("fingerprinting stage `{}`: {e}", decl.name),
        };
        let _ = writeln!(table, "    ({:?}, {:?}, &[", decl.name, print.digest);
        for (f, digest) in &print.inputs {
            // A file outside the watched folders (a `#[path]` module, an embedded asset
            // elsewhere) must trigger a new scan too.
            if !f.starts_with('(') {
                println!("cargo:rerun-if-changed={f}");
            }
            let _ = writeln!(table, "        ({f:?}, {digest:?}),");
        }
        table.push_str("    ]),\n");
    }
    table.push_str("];\n");
    let out = PathBuf::from(std::env::var("OUT_DIR").unwrap()).join("fingerprints.rs");
    std::fs::write(out, table).unwrap();

    if let Ok(dir) = std::env::var("LIBTORCH") {
        println!("cargo:rustc-link-arg=-Wl,-rpath,{dir}/lib");
    }
    println!("cargo:rustc-env=REPRO_LIBTORCH_VERSION={}", libtorch);
    for (name, value) in toolchain.entries() {
        let var = codegraph::Toolchain::env_var(name);
        println!("cargo:rustc-env={var}={value}");
    }
    println!("cargo:rustc-env=REPRO_GIT_COMMIT={commit}");
    println!("cargo:rerun-if-changed=.git/HEAD");
    println!("cargo:rerun-if-changed=.git/refs/heads");
}

/// The compiler, profile, target and features this build uses, and the native libraries
/// it links, as they enter the fingerprints (see `codegraph::Toolchain`).
fn toolchain(libtorch: &str) -> codegraph::Toolchain {
    let var = |name: &str| std::env::var(name).unwrap_or_default();
    let rustc = std::process::Command::new(std::env::var("RUSTC").unwrap_or("rustc".into()))
        .arg("-vV")
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default();
    // `rustc 1.95.0 (59807616e 2026-04-14), LLVM 20.1.8`: the release and its code generator.
    let release = rustc.lines().next().unwrap_or("unknown").trim();
    let llvm = rustc
        .lines()
        .find_map(|l| l.strip_prefix("LLVM version:"))
        .map(str::trim)
        .unwrap_or("unknown");
    let mut features: Vec<String> = std::env::vars()
        .filter_map(|(k, _)| k.strip_prefix("CARGO_FEATURE_").map(str::to_lowercase))
        .collect();
    features.sort();
    codegraph::Toolchain {
        common: vec![
            ("(rustc)".into(), format!("{release}, LLVM {llvm}")),
            (
                "(build profile)".into(),
                format!(
                    "{} opt-level={} {} {}",
                    var("PROFILE"),
                    var("OPT_LEVEL"),
                    var("TARGET"),
                    var("CARGO_CFG_TARGET_FEATURE")
                ),
            ),
            (
                "(cargo features)".into(),
                if features.is_empty() {
                    "none".into()
                } else {
                    features.join(",")
                },
            ),
        ],
        native: vec![
            ("tch".into(), "(libtorch)".into(), libtorch.to_string()),
            ("hdf5".into(), "(libhdf5)".into(), libhdf5_version()),
        ],
    }
}

/// The version of the HDF5 library the `hdf5` crate links, found as its build finds it:
/// `$HDF5_DIR/include/H5pubconf.h`, else pkg-config. Checked against the library loaded
/// at run time (`formats::activations`), since a system library can change under a binary.
fn libhdf5_version() -> String {
    if let Ok(dir) = std::env::var("HDF5_DIR") {
        let header = std::fs::read_to_string(format!("{dir}/include/H5pubconf.h"));
        if let Some(v) = header.ok().and_then(|h| {
            h.lines()
                .find_map(|l| l.strip_prefix("#define H5_VERSION "))
                .map(|v| v.trim().trim_matches('"').to_string())
        }) {
            return v;
        }
    }
    ["hdf5", "hdf5-serial"]
        .iter()
        .find_map(|name| {
            std::process::Command::new("pkg-config")
                .args(["--modversion", name])
                .output()
                .ok()
                .filter(|o| o.status.success())
                .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        })
        .unwrap_or_else(|| "unknown".into())
}

/// The commit repro was built from, for the report's provenance.
fn git_commit(root: &std::path::Path) -> String {
    std::process::Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .current_dir(root)
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_else(|| "unknown".into())
}

/// The linked libtorch's version and build, from the wheel's `torch/version.py` (e.g.
/// `2.13.0+cu130 cf30153c4c13`): a different libtorch can compute different bytes.
fn libtorch_build() -> String {
    let Ok(dir) = std::env::var("LIBTORCH") else {
        return "unknown".into();
    };
    let text = std::fs::read_to_string(format!("{dir}/version.py")).unwrap_or_default();
    let field = |name: &str| {
        text.lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split('\'').nth(1).map(String::from))
    };
    match (field("__version__"), field("git_version")) {
        (Some(v), Some(g)) => format!("{v} {}", &g[..g.len().min(12)]),
        (Some(v), None) => v,
        _ => {
            // A plain libtorch download has build-version instead of version.py.
            std::fs::read_to_string(format!("{dir}/build-version"))
                .map(|s| s.trim().to_string())
                .unwrap_or_else(|_| "unknown".into())
        }
    }
}
