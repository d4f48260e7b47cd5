//! Code fingerprints are derived from the code itself: on a copy of this repository's
//! sources, editing a file changes the fingerprint of exactly the stages whose code uses it,
//! directly or through other modules, and the build's own table agrees with a fresh scan.

mod common;

use common::repo_root;
use repro::codegraph::stage_fingerprint;
use repro::stages::{build_env, builtin_fingerprint, toolchain, BUILTIN};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap().flatten() {
        let dest = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_tree(&e.path(), &dest);
        } else {
            std::fs::copy(e.path(), dest).unwrap();
        }
    }
}

/// A scratch copy of what the build script reads.
fn source_copy() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for d in ["src", "stages", "assets"] {
        copy_tree(&repo_root().join(d), &dir.path().join(d));
    }
    for file in ["Cargo.lock", "Cargo.toml"] {
        std::fs::copy(repo_root().join(file), dir.path().join(file)).unwrap();
    }
    dir
}

/// The `sources` a stage's declaration lists.
fn sources_of(root: &Path, name: &str) -> Vec<String> {
    let decl = std::fs::read_to_string(root.join(format!("stages/{name}.toml"))).unwrap();
    toml::from_str::<toml::Table>(&decl)
        .unwrap()
        .get("sources")
        .and_then(|s| s.as_array())
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

fn fingerprints(root: &Path) -> BTreeMap<&'static str, String> {
    BUILTIN
        .iter()
        .map(|&name| {
            let sources = sources_of(root, name);
            let print = stage_fingerprint(root, name, &sources, &toolchain(), &build_env).unwrap();
            (name, print.digest)
        })
        .collect()
}

/// Makes `edit` to a fresh copy of the sources and returns the stages whose fingerprint
/// changed.
fn changed_by(edit: impl FnOnce(&Path)) -> BTreeSet<&'static str> {
    let copy = source_copy();
    let before = fingerprints(copy.path());
    edit(copy.path());
    let after = fingerprints(copy.path());
    BUILTIN
        .iter()
        .copied()
        .filter(|s| before[s] != after[s])
        .collect()
}

/// Appends a comment line to `file` and returns the stages whose fingerprint changed.
fn changed_by_editing(file: &str) -> BTreeSet<&'static str> {
    changed_by(|root| {
        let path = root.join(file);
        let mut text = std::fs::read_to_string(&path).unwrap();
        text.push_str("\n// an edit\n");
        std::fs::write(&path, text).unwrap();
    })
}

#[test]
fn the_built_table_matches_a_fresh_scan_of_the_sources() {
    for (name, digest) in fingerprints(&repo_root()) {
        assert_eq!(
            builtin_fingerprint(name),
            Some(digest.as_str()),
            "stage {name}: rebuild (cargo build) if the sources changed since"
        );
    }
}

#[test]
fn the_shuffle_generator_belongs_to_training_only() {
    // src/rng.rs is used by model/shuffle.rs, which only the training loop uses. Stages
    // that read a network's parameters take them from model/settings.rs, which needs
    // neither; analysis uses the generator in tests only, which cannot change its outputs.
    // The lr stage trains too (its grid of rates).
    assert_eq!(
        changed_by_editing("src/rng.rs"),
        BTreeSet::from(["lr", "train"])
    );
    // The training loop itself is training's (and the rate selection's) alone too: the
    // report reads the lr entries through results::lr_entry, not the stage.
    assert_eq!(
        changed_by_editing("src/model/train.rs"),
        BTreeSet::from(["lr", "train"])
    );
}

#[test]
fn a_plotting_file_belongs_to_the_figures_and_the_report() {
    // The report's claims read the figures' tables through the figures module.
    assert_eq!(
        changed_by_editing("src/plots/style.rs"),
        BTreeSet::from(["figures", "report"])
    );
}

#[test]
fn the_engine_scheduler_and_test_files_are_in_no_fingerprint() {
    assert_eq!(changed_by_editing("src/engine/runner.rs"), BTreeSet::new());
    // How keys are computed is not stage code; only the report, which reads manifests,
    // uses that module.
    assert_eq!(
        changed_by_editing("src/engine/key.rs"),
        BTreeSet::from(["report"])
    );
    assert_eq!(
        changed_by_editing("src/analysis/kde_tests.rs"),
        BTreeSet::new()
    );
}

#[test]
fn a_new_use_brings_the_used_file_in() {
    let copy = source_copy();
    let data = copy.path().join("src/stages/data.rs");
    let text = std::fs::read_to_string(&data).unwrap();
    std::fs::write(
        &data,
        format!("{text}\n#[allow(unused_imports)]\nuse crate::rng::SplitMix64;\n"),
    )
    .unwrap();
    let before = fingerprints(copy.path());
    let rng = copy.path().join("src/rng.rs");
    std::fs::write(&rng, std::fs::read_to_string(&rng).unwrap() + "\n// edit\n").unwrap();
    let after = fingerprints(copy.path());
    assert_ne!(before["data"], after["data"]);
    assert_ne!(before["train"], after["train"]);
    assert_eq!(before["analysis"], after["analysis"]);
}

/// Gives the locked package `name` another version in a copy's Cargo.lock (as an upgrade
/// would) and returns the stages whose fingerprint changed.
fn changed_by_upgrading(name: &str) -> BTreeSet<&'static str> {
    changed_by(|root| {
        let lock = root.join("Cargo.lock");
        let text = std::fs::read_to_string(&lock).unwrap();
        let marker = format!("name = \"{name}\"\nversion = \"");
        let at = text.find(&marker).expect("the package is locked") + marker.len();
        std::fs::write(&lock, format!("{}99.{}", &text[..at], &text[at..])).unwrap();
    })
}

#[test]
fn a_crate_upgrade_changes_the_stages_whose_code_uses_it() {
    // libtorch's bindings: training, the rate selection and the forward passes, nothing
    // else.
    assert_eq!(
        changed_by_upgrading("tch"),
        BTreeSet::from(["activations", "lr", "train"])
    );
    // A dependency of a dependency counts: torch-sys comes in through tch.
    assert_eq!(
        changed_by_upgrading("torch-sys"),
        BTreeSet::from(["activations", "lr", "train"])
    );
    // The HDF5 bindings, known to the code as `hdf5` (renamed in Cargo.toml).
    assert!(changed_by_upgrading("hdf5-metno").contains("activations"));
    assert!(!changed_by_upgrading("hdf5-metno").contains("data"));
    // Plotting: the figures, and the report, which reads the figures' tables through them.
    assert_eq!(
        changed_by_upgrading("plotters"),
        BTreeSet::from(["figures", "report"])
    );
    // serde is everywhere.
    assert_eq!(
        changed_by_upgrading("serde"),
        BUILTIN.iter().copied().collect::<BTreeSet<_>>()
    );
}

#[test]
fn a_crate_no_stage_uses_changes_no_fingerprint() {
    let copy = source_copy();
    let before = fingerprints(copy.path());
    let lock = copy.path().join("Cargo.lock");
    let text = std::fs::read_to_string(&lock).unwrap();
    let root = "name = \"repro\"\nversion = \"0.1.0\"\ndependencies = [\n";
    assert!(
        text.contains(root),
        "the crate's own entry lists its dependencies"
    );
    let added = text.replacen(root, &format!("{root} \"remote-store\",\n"), 1)
        + "\n[[package]]\nname = \"remote-store\"\nversion = \"1.0.0\"\n\
           source = \"registry+https://github.com/rust-lang/crates.io-index\"\n\
           checksum = \"00\"\ndependencies = [\n \"serde\",\n]\n";
    std::fs::write(&lock, added).unwrap();
    assert_eq!(fingerprints(copy.path()), before);
}

/// The stages whose fingerprint changes when the toolchain entry `entry` gets `value`.
fn changed_by_toolchain(entry: &str, value: &str) -> BTreeSet<&'static str> {
    let root = repo_root();
    let print = |t: &repro::codegraph::Toolchain| -> BTreeMap<&'static str, String> {
        BUILTIN
            .iter()
            .map(|&name| {
                let sources = sources_of(&root, name);
                let p = stage_fingerprint(&root, name, &sources, t, &build_env).unwrap();
                (name, p.digest)
            })
            .collect()
    };
    let mut other = toolchain();
    for (n, v) in other.common.iter_mut() {
        if n == entry {
            *v = value.into();
        }
    }
    for (_, n, v) in other.native.iter_mut() {
        if n == entry {
            *v = value.into();
        }
    }
    assert_ne!(other, toolchain(), "{entry} is a toolchain entry");
    let (before, after) = (print(&toolchain()), print(&other));
    BUILTIN
        .iter()
        .copied()
        .filter(|s| before[s] != after[s])
        .collect()
}

#[test]
fn the_compiler_profile_and_native_libraries_enter_the_stages_they_build() {
    let all: BTreeSet<&str> = BUILTIN.iter().copied().collect();
    assert_eq!(
        changed_by_toolchain("(rustc)", "rustc 1.99.0 (0 2027-01-01), LLVM 23"),
        all
    );
    assert_eq!(
        changed_by_toolchain("(build profile)", "release opt-level=3 x86_64 avx2"),
        all
    );
    assert_eq!(changed_by_toolchain("(cargo features)", "cuda"), all);
    // Native libraries only where the code names the crate that binds them.
    assert_eq!(
        changed_by_toolchain("(libtorch)", "2.99.0"),
        BTreeSet::from(["activations", "lr", "train"])
    );
    let hdf5 = changed_by_toolchain("(libhdf5)", "1.14.6");
    assert!(
        hdf5.contains("activations") && hdf5.contains("analysis"),
        "{hdf5:?}"
    );
    assert!(
        !hdf5.contains("train") && !hdf5.contains("data"),
        "{hdf5:?}"
    );
}

#[test]
fn the_built_toolchain_is_the_one_that_built_the_tests() {
    // Asked of the compiler directly, not of the build script.
    let out = std::process::Command::new(std::env::var("RUSTC").unwrap_or("rustc".into()))
        .arg("-vV")
        .output()
        .unwrap();
    let verbose = String::from_utf8_lossy(&out.stdout);
    let release = verbose.lines().next().unwrap();
    let t = toolchain();
    assert!(
        t.value("(rustc)").unwrap().starts_with(release),
        "{:?} vs {release}",
        t.value("(rustc)")
    );
    let profile = if cfg!(debug_assertions) {
        "debug "
    } else {
        "release "
    };
    assert!(t.value("(build profile)").unwrap().starts_with(profile));
    assert_eq!(t.value("(cargo features)"), Some("none"));
    // And every stage's table in the binary carries them.
    for name in BUILTIN {
        let inputs = repro::stages::builtin_fingerprint_inputs(name);
        let rustc = inputs.iter().find(|(f, _)| *f == "(rustc)");
        assert_eq!(rustc.map(|(_, v)| *v), t.value("(rustc)"), "{name}");
    }
}

/// Replaces `from` with `to` in a copy's Cargo.toml; returns the stages that changed.
fn changed_by_cargo_toml(from: &str, to: &str) -> BTreeSet<&'static str> {
    changed_by(|root| {
        let path = root.join("Cargo.toml");
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains(from), "Cargo.toml has {from:?}");
        std::fs::write(&path, text.replacen(from, to, 1)).unwrap();
    })
}

#[test]
fn dependency_declarations_and_profiles_enter_every_key_but_test_only_ones_do_not() {
    let all: BTreeSet<&str> = BUILTIN.iter().copied().collect();
    // A crate added for another purpose may turn on features of one a stage uses (Cargo
    // unifies features), so any dependency declaration counts everywhere.
    assert_eq!(
        changed_by_cargo_toml("[dependencies]\n", "[dependencies]\nnew-crate = \"1\"\n"),
        all
    );
    assert_eq!(
        changed_by_cargo_toml("[profile.release]\n", "[profile.release]\nlto = true\n"),
        all
    );
    // Debug information is kept beside the code and cannot change a computed byte;
    // debug assertions are checks in the code.
    assert_eq!(
        changed_by_cargo_toml(
            "[profile.release]\ndebug = \"line-tables-only\"\n",
            "[profile.release]\ndebug = true\nstrip = \"symbols\"\n"
        ),
        BTreeSet::new()
    );
    assert_eq!(
        changed_by_cargo_toml(
            "[profile.release]\n",
            "[profile.release]\ndebug-assertions = true\n"
        ),
        all
    );
    assert_eq!(
        changed_by_cargo_toml(
            "[dev-dependencies]\n",
            "[dev-dependencies]\nnew-crate = \"1\"\n"
        ),
        BTreeSet::new()
    );
    // A comment is not a declaration.
    assert_eq!(
        changed_by_cargo_toml("[dependencies]\n", "[dependencies]\n# a note\n"),
        BTreeSet::new()
    );
}
