//! `repro adopt`: after a change that alters a stage's keys but not its bytes, the entries
//! are re-keyed once recomputed units prove the bytes equal; a change that alters the
//! bytes is refused, naming the unit.

mod common;

use common::*;
use predicates::prelude::*;
use predicates::str::contains;
use std::os::unix::fs::MetadataExt;

/// The data stage and `count`, a command stage whose script is one of its sources.
fn project() -> TestProject {
    let data = TinyDataset::new(10, 4);
    let p = TestProject::new("");
    let stages = p.stages_with_data();
    std::fs::write(
        stages.join("count.toml"),
        r#"name = "count"
description = "Counts training samples"
version = 1
kind = "command"
needs = ["data"]
per_unit_of = "data"
sources = ["count.sh"]
command = ["sh", "count.sh", "{input:data}", "{out}"]
outputs = ["count.txt"]
"#,
    )
    .unwrap();
    std::fs::write(
        p.path().join("count.sh"),
        "python3 -c \"import json,sys; d=json.load(open(sys.argv[1]+'/dataset.json')); open(sys.argv[2]+'/count.txt','w').write(str(d['splits']['train']['samples']))\" \"$1\" \"$2\"\n",
    )
    .unwrap();
    let tables = data.mirror_in(p.path(), 2);
    p.write_config(&tables, &stages);
    p
}

#[test]
fn a_harmless_change_is_adopted_and_a_real_one_refused() {
    let p = project();
    p.repro().args(["run", "all"]).assert().success();
    let old = p.entries("count");
    assert_eq!(old.len(), 1);
    let script = p.path().join("count.sh");
    let text = std::fs::read_to_string(&script).unwrap();

    // A comment changes the key, not the bytes.
    std::fs::write(&script, format!("# counts the training split\n{text}")).unwrap();
    p.repro()
        .args(["run", "all", "--dry-run"])
        .assert()
        .success()
        .stdout(contains("would run 1 unit(s)"));
    p.repro()
        .args(["adopt", "count", "--sample", "1"])
        .assert()
        .success()
        .stdout(contains(
            "adopted 1 entry of `count` after 1 recomputed unit(s)",
        ));
    p.repro()
        .args(["run", "all", "--dry-run"])
        .assert()
        .success()
        .stdout(contains("would run 0 unit(s)"));
    p.repro()
        .arg("status")
        .assert()
        .success()
        .stdout(contains("adopted (1").and(contains("count/tiny")));
    // The adopted entry shares the old one's file, and records where it came from.
    let entries = p.entries("count");
    assert_eq!(entries.len(), 2);
    let new = entries.iter().find(|e| **e != old[0]).unwrap();
    let inode = |d: &std::path::Path| std::fs::metadata(d.join("count.txt")).unwrap().ino();
    assert_eq!(inode(new), inode(&old[0]));
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(new.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(
        manifest["adopted"]["from_key"],
        old[0].file_name().unwrap().to_str().unwrap()
    );
    assert_eq!(manifest["adopted"]["verified_by"][0], "count/tiny");

    // A change of behaviour: the recomputed unit differs, nothing is adopted.
    std::fs::write(&script, text.replace("samples']))", "samples'] * 2))")).unwrap();
    p.repro()
        .args(["adopt", "count"])
        .assert()
        .failure()
        .stderr(contains(
            "count/tiny gives other bytes under the new code (count.txt)",
        ));
    p.repro()
        .args(["run", "all", "--dry-run"])
        .assert()
        .success()
        .stdout(contains("would run 1 unit(s)"));
    // A parameter change is never a candidate.
    let config = p.path().join("pipeline.toml");
    let tables = std::fs::read_to_string(&config).unwrap();
    assert!(tables.contains("val_size = 2"));
    std::fs::write(&config, tables.replace("val_size = 2", "val_size = 3")).unwrap();
    p.repro()
        .args(["adopt", "data", "--sample", "1"])
        .assert()
        .success()
        .stdout(
            contains("not a candidate  data/tiny: its parameters, version or inputs changed")
                .and(contains("nothing to adopt in `data`")),
        );
}

#[test]
fn an_older_entry_is_adopted_when_another_configuration_ran_the_unit_since() {
    // The paper's profiles share unit ids (`train/mnist-1x100-relu-mse-s1` in the default
    // run and in the fixed-rate variant): the unit's last entry may be the other
    // configuration's, while an older one differs from this one by code alone.
    let p = project();
    p.repro().args(["run", "all"]).assert().success();
    p.repro()
        .args(["run", "all", "--set", "data.val_size=3"])
        .assert()
        .success();
    let script = p.path().join("count.sh");
    let text = std::fs::read_to_string(&script).unwrap();
    std::fs::write(&script, format!("# counts the training split\n{text}")).unwrap();
    p.repro()
        .args(["adopt", "count", "--sample", "1"])
        .assert()
        .success()
        .stdout(contains(
            "adopted 1 entry of `count` after 1 recomputed unit(s)",
        ));
    p.repro()
        .args(["run", "all", "--dry-run"])
        .assert()
        .success()
        .stdout(contains("would run 0 unit(s)"));
}

#[test]
fn an_audit_sample_checks_adopted_entries_no_unit_recomputed_first() {
    // Two networks, and a command stage with one unit per network.
    let data = TinyDataset::learnable(120, 30);
    let p = TestProject::new("");
    let stages = p.stages_with_data();
    for s in ["lr", "train"] {
        std::fs::copy(
            repo_root().join(format!("stages/{s}.toml")),
            stages.join(format!("{s}.toml")),
        )
        .unwrap();
    }
    std::fs::write(
        stages.join("files.toml"),
        r#"name = "files"
description = "Counts a network's files"
version = 1
kind = "command"
needs = ["train"]
per_unit_of = "train"
sources = ["files.sh"]
command = ["sh", "files.sh", "{input:train}", "{out}"]
outputs = ["n.txt"]
"#,
    )
    .unwrap();
    let script = p.path().join("files.sh");
    std::fs::write(&script, "ls \"$1\" | wc -l > \"$2/n.txt\"\n").unwrap();
    let tables = data.mirror_in(p.path(), 30)
        + "[train]\nmax_epochs = 1\nbatch_size = 16\nlr = 0.01\nseeds = [1]\n\n\
           [[train.sweep]]\nname = \"a\"\ndatasets = [\"tiny\"]\ndepths = [1, 2]\nwidths = [6]\n";
    p.write_config(&tables, &stages);
    p.repro().args(["run", "all"]).assert().success();
    std::fs::write(
        &script,
        "# counts files\nls \"$1\" | wc -l > \"$2/n.txt\"\n",
    )
    .unwrap();
    let adopted = p
        .repro()
        .args(["adopt", "files", "--sample", "1"])
        .assert()
        .success()
        .stdout(contains(
            "adopted 2 entries of `files` after 1 recomputed unit(s)",
        ));
    let out = String::from_utf8_lossy(&adopted.get_output().stdout).to_string();
    let units = ["files/tiny-1x6-relu-mse-s1", "files/tiny-2x6-relu-mse-s1"];
    // The unit adopt recomputed is named in the adopted entries' manifests.
    let manifest = |unit: &str| -> serde_json::Value {
        let id = unit.split('/').nth(1).unwrap();
        let entry = p
            .entries("files")
            .into_iter()
            .find(|e| {
                let m = std::fs::read_to_string(e.join("manifest.json")).unwrap();
                m.contains(id) && m.contains("\"adopted\"")
            })
            .unwrap();
        serde_json::from_str(&std::fs::read_to_string(entry.join("manifest.json")).unwrap())
            .unwrap()
    };
    let verifier = manifest(units[0])["adopted"]["verified_by"][0]
        .as_str()
        .unwrap()
        .to_string();
    assert!(units.contains(&verifier.as_str()), "{out}");
    let other = units.iter().find(|u| **u != verifier).unwrap();
    // A sample of one audits the entry nobody recomputed, not the one adopt already did.
    p.repro()
        .args(["audit", "files", "--sample", "1"])
        .assert()
        .success()
        .stdout(contains(format!("identical  {other}")).and(contains(verifier.as_str()).not()));
}
