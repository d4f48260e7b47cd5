//! Tests of the code graph on small source trees made for each.

use super::lex::lex;
use super::parse::use_tree;
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
    let toml = "[dependencies]\nbar = \"0.5\"\nblob = { package = \"store\", version = \"3\" }\n";
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
    shown(&deps.files)
}

fn shown(paths: &BTreeSet<PathBuf>) -> Vec<String> {
    paths.iter().map(|p| p.display().to_string()).collect()
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
    assert_eq!(shown(&deps.embedded), vec!["assets/f.bin"]);
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

#[test]
fn files_outside_src_that_the_code_reaches_are_followed() {
    // A module placed elsewhere with `#[path]`, and a file it embeds from outside the
    // crate's usual folders: both are inputs (and build.rs watches every input file).
    let d = tree(&[
        ("src/lib.rs", "pub mod stages;"),
        (
            "src/stages/train.rs",
            "#[path = \"../../shared_code/helper.rs\"]\nmod helper;\nfn f() { helper::h() }\n",
        ),
        (
            "shared_code/helper.rs",
            "pub fn h() { let _ = include_str!(\"../tables/weights.txt\"); }",
        ),
        ("tables/weights.txt", "1 2 3"),
    ]);
    let deps = module_deps(d.path(), &["stages", "train"]).unwrap();
    assert_eq!(
        files(&deps),
        vec!["shared_code/helper.rs", "src/stages/train.rs"]
    );
    assert_eq!(shown(&deps.embedded), vec!["tables/weights.txt"]);
}
