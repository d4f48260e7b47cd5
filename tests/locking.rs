//! Who holds the cache lock, and for how long: `export` reads entries under it (so no `gc`
//! or forced rerun replaces one midway), and `push` holds it only to list what to send,
//! not for the upload. Shown with a `repro` frozen at a fault point, not with timing.

mod common;

use common::*;
use predicates::prelude::*;
use predicates::str::contains;
use std::io::Read;
use std::process::Stdio;

fn repro_command(p: &TestProject, args: &[&str]) -> std::process::Command {
    let mut c = std::process::Command::new(assert_cmd::cargo::cargo_bin("repro"));
    c.args(args)
        .current_dir(p.path())
        .env_remove("REPRO_PROFILE")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    c
}

#[test]
fn export_waits_for_the_cache_lock() {
    let p = two_stage_project("");
    p.repro().args(["run", "all"]).assert().success();
    let holder = Frozen::at(repro_command(&p, &["run", "all"]), "lock:acquired");
    let mut export = repro_command(&p, &["export", "--out", "x.zip"])
        .spawn()
        .unwrap();
    let (line, mut rest) = first_stderr_line(&mut export);
    assert!(
        line.contains(&format!(
            "waiting for the cache lock held by repro pid {}",
            holder.pid()
        )),
        "export went ahead without the lock: {line}"
    );
    assert!(holder.resume().wait().unwrap().success());
    let mut tail = String::new();
    rest.read_to_string(&mut tail).unwrap();
    // This project has no report stage, which export says once it has the lock.
    assert!(!export.wait().unwrap().success());
    assert!(tail.contains("no report to export"), "{tail}");
}

#[test]
fn push_does_not_hold_the_lock_while_uploading() {
    let remote = tempfile::tempdir().unwrap();
    let p = two_stage_project(&format!(
        "[remote]\nurl = {:?}\n",
        remote.path().display().to_string()
    ));
    p.repro().args(["run", "all"]).assert().success();
    let pusher = Frozen::at(repro_command(&p, &["push"]), "push:after-first-entry");
    // Mid-upload, a command that takes the lock goes ahead at once.
    let mut verify = repro_command(&p, &["verify"]).spawn().unwrap();
    let (line, mut rest) = first_stderr_line(&mut verify);
    assert!(
        !line.contains("waiting for the cache lock"),
        "push held the lock during its upload: {line}"
    );
    let mut tail = String::new();
    rest.read_to_string(&mut tail).unwrap();
    assert!(verify.wait().unwrap().success(), "{tail}");
    let mut pusher = pusher.resume();
    let mut text = String::new();
    pusher
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut text)
        .unwrap();
    assert!(pusher.wait().unwrap().success(), "{text}");
    assert!(text.contains("2 entries sent"), "{text}");
}

/// An entry deleted while a push is uploading (a `gc` between its list and its upload)
/// is skipped with a note; everything else is sent.
#[test]
fn an_entry_gone_during_a_push_is_skipped() {
    let remote = tempfile::tempdir().unwrap();
    let p = two_stage_project(&format!(
        "[remote]\nurl = {:?}\n",
        remote.path().display().to_string()
    ));
    p.repro().args(["run", "all"]).assert().success();
    let pusher = Frozen::at(repro_command(&p, &["push"]), "push:after-first-entry");
    let top = p.entries("top").pop().unwrap();
    std::fs::remove_dir_all(&top).unwrap();
    let mut pusher = pusher.resume();
    let mut text = String::new();
    pusher
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut text)
        .unwrap();
    assert!(pusher.wait().unwrap().success(), "{text}");
    assert!(
        text.contains("left the cache during the push") && text.contains("1 entry sent"),
        "{text}"
    );
    p.repro()
        .args(["run", "all"])
        .assert()
        .success()
        .stderr(contains("1 unit(s) run").and(contains("waiting").not()));
}
