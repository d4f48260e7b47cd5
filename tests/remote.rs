//! Remote caches: a small real run pushed from one project and pulled into a fresh one
//! (then `repro run all` there runs nothing and publishes the same report), through a
//! folder and through an S3 server started here (moto's standalone server, installed by
//! setup.sh; skipped with a message where it is missing, unless REPRO_REQUIRE_S3 is set,
//! as CI does); a corrupted object, an interrupted push, missing credentials and an
//! unreachable server.

mod common;

use common::*;
use predicates::prelude::*;
use predicates::str::contains;
use std::path::{Path, PathBuf};

/// One small network and everything after it.
const CONFIG: &str = r#"
[data]
datasets = ["mnist"]

[train]
max_epochs = 1
batch_size = 64
seeds = [1]
train_subset = 1000

[[train.sweep]]
name = "depth"
datasets = ["mnist"]
depths = [2]
widths = [8]

[activations]
splits = ["train", "test"]

[figures]
depth_sweep_width = 8
width_sweep_depth = 2
fig1_network = { dataset = "mnist", depth = 2, width = 8 }
"#;

fn project(remote: &str) -> TestProject {
    TestProject::new(&format!("{CONFIG}\n{remote}\n"))
}

fn run_all(p: &TestProject) {
    p.repro()
        .args(["run", "all", "--data-mirror"])
        .arg(shared_datasets())
        .assert()
        .success();
}

/// The number before `what` in the last line of stderr, e.g. 12 in "12 entries sent".
fn count(stderr: &str, what: &str) -> usize {
    let line = stderr.lines().last().unwrap_or_default();
    let at = line
        .find(what)
        .unwrap_or_else(|| panic!("`{what}` not in `{line}`"));
    line[..at]
        .split(|c: char| !c.is_ascii_digit())
        .rfind(|s| !s.is_empty())
        .unwrap()
        .parse()
        .unwrap()
}

fn stderr_of(a: &assert_cmd::assert::Assert) -> String {
    String::from_utf8_lossy(&a.get_output().stderr).into_owned()
}

/// Every object file under a folder remote's `files/`.
fn file_objects(remote: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for shard in std::fs::read_dir(remote.join("files")).unwrap().flatten() {
        out.extend(
            std::fs::read_dir(shard.path())
                .unwrap()
                .flatten()
                .map(|e| e.path()),
        );
    }
    out.sort();
    out
}

/// Pushes `a`'s results, pulls them into the fresh project `b`, and checks that `b` then
/// runs nothing and publishes the same report.
fn push_then_pull(a: &TestProject, b: &TestProject, env: &[(&str, &str)]) {
    let with_env = |mut c: assert_cmd::Command| {
        for (k, v) in env {
            c.env(k, v);
        }
        c
    };
    let first = with_env(a.repro()).arg("push").assert().success();
    let pushed = count(&stderr_of(&first), "entries sent");
    let planned = a
        .repro()
        .arg("status")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap();
    assert!(
        pushed >= 8,
        "data, train, activations, analysis, figures, report: {pushed}\n{planned}"
    );
    assert!(stderr_of(&first).contains("as manifest only (dropped, recomputable)"));
    // Pushing again transfers nothing.
    let again = with_env(a.repro()).arg("push").assert().success();
    let text = stderr_of(&again);
    assert_eq!(count(&text, "entries sent"), 0, "{text}");
    assert_eq!(count(&text, "skipped as present"), pushed, "{text}");
    assert!(text.contains("0 file(s), 0.0 MB"), "{text}");

    // Before the pull, the fresh project's status says what the remote holds: the data
    // (the only units whose keys are known before anything is cached).
    with_env(b.repro())
        .args(["status", "--remote"])
        .assert()
        .success()
        .stdout(
            contains("data           1 to pull, 0 not there").and(contains(
                "train          0 to pull, 0 not there, 1 not known",
            )),
        );
    let pulled = with_env(b.repro()).arg("pull").assert().success();
    assert_eq!(count(&stderr_of(&pulled), "entries received"), pushed);
    b.repro()
        .args(["run", "all"])
        .assert()
        .success()
        .stderr(contains("0 unit(s) run").and(contains(" 0 failed")));
    let report =
        |p: &TestProject| std::fs::read_to_string(p.path().join("report/out/report.md")).unwrap();
    assert_eq!(report(a), report(b));
    assert!(b.staging_leftovers().is_empty());
}

#[test]
fn a_folder_remote_carries_a_run_to_a_fresh_project() {
    let remote = tempfile::tempdir().unwrap();
    let setting = format!("[remote]\nurl = {:?}", remote.path().display().to_string());
    let a = project(&setting);
    run_all(&a);
    let b = project(&setting);
    push_then_pull(&a, &b, &[]);
    // Identical files are stored once: no two objects have the same name, and every
    // object's name is its content's SHA-256.
    for object in file_objects(remote.path()) {
        let bytes = std::fs::read(&object).unwrap();
        assert_eq!(
            object.file_name().unwrap().to_string_lossy(),
            sha256(&bytes)
        );
    }

    // A corrupted object: the pull that needs it stops, names it, and commits nothing
    // with that file.
    let victim = file_objects(remote.path())
        .into_iter()
        .max_by_key(|p| std::fs::metadata(p).unwrap().len())
        .unwrap();
    let digest = victim.file_name().unwrap().to_string_lossy().into_owned();
    let bytes = std::fs::read(&victim).unwrap();
    std::fs::write(&victim, &bytes[..bytes.len() / 2]).unwrap();
    let c = project(&setting);
    c.repro().arg("pull").assert().failure().stderr(
        contains("corrupt or truncated").and(contains(format!("files/{}/{digest}", &digest[..2]))),
    );
    for stage in [
        "data",
        "train",
        "activations",
        "analysis",
        "figures",
        "report",
    ] {
        for entry in c.entries(stage) {
            let manifest = std::fs::read_to_string(entry.join("manifest.json")).unwrap();
            assert!(
                !manifest.contains(&digest),
                "{} holds the corrupt file",
                entry.display()
            );
        }
    }
    assert!(c.staging_leftovers().is_empty());
}

#[test]
fn an_interrupted_push_leaves_no_entry_visible_and_the_next_one_completes() {
    let remote = tempfile::tempdir().unwrap();
    let setting = format!("[remote]\nurl = {:?}", remote.path().display().to_string());
    let a = project(&setting);
    run_all(&a);
    // `entries` is a file, so the first entry object cannot be written: the push stops
    // after uploading that entry's files.
    std::fs::write(remote.path().join("entries"), b"in the way").unwrap();
    a.repro()
        .arg("push")
        .assert()
        .failure()
        .stderr(contains("entries/"));
    assert!(
        !file_objects(remote.path()).is_empty(),
        "files went up first"
    );
    // Nothing is visible as an entry: a fresh project pulls nothing.
    std::fs::remove_file(remote.path().join("entries")).unwrap();
    let b = project(&setting);
    let pulled = b.repro().arg("pull").assert().success();
    assert_eq!(count(&stderr_of(&pulled), "entries received"), 0);
    assert!(b.entries("data").is_empty());
    // The next push completes, reusing what the first one sent.
    let pushed = a.repro().arg("push").assert().success();
    let text = stderr_of(&pushed);
    assert!(count(&text, "already on the remote") >= 1, "{text}");
    let pulled = b.repro().arg("pull").assert().success();
    assert_eq!(
        count(&stderr_of(&pulled), "entries received"),
        count(&text, "entries sent")
    );
}

#[test]
fn remote_settings_are_checked_before_anything_moves() {
    // A bad URL is a configuration error naming the key.
    let p = project("[remote]\nurl = \"ftp://host/x\"");
    p.repro()
        .arg("push")
        .assert()
        .code(2)
        .stderr(contains("remote.url").and(contains("unsupported scheme")));
    // A missing folder is named, not created.
    let p = project("[remote]\nurl = \"no-such-folder\"");
    p.repro()
        .arg("push")
        .assert()
        .failure()
        .stderr(contains("no-such-folder").and(contains("does not exist")));
    // No credentials for S3: said plainly, before any request.
    let p = project("[remote]\nurl = \"s3://bucket/runs\"\nendpoint = \"http://127.0.0.1:9\"");
    p.repro()
        .arg("pull")
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .env("HOME", p.path())
        .assert()
        .failure()
        .stderr(contains("no credentials"));
    // An unreachable server fails within seconds, naming the remote and never the secret.
    let run = p
        .repro()
        .arg("pull")
        .env("AWS_ACCESS_KEY_ID", "someone")
        .env("AWS_SECRET_ACCESS_KEY", "very-secret-value")
        .timeout(std::time::Duration::from_secs(120))
        .assert()
        .failure();
    let text = stderr_of(&run);
    assert!(
        text.contains("s3://bucket/runs at http://127.0.0.1:9"),
        "{text}"
    );
    assert!(!text.contains("very-secret-value"), "{text}");
    // --pull without a remote configured.
    let p = project("");
    p.repro()
        .args(["run", "--pull"])
        .assert()
        .failure()
        .stderr(contains("no remote configured"));
}

/// moto's standalone S3 server from setup.sh's Python environment, on a free port.
struct S3Server {
    child: std::process::Child,
    endpoint: String,
}

impl Drop for S3Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_s3() -> Option<S3Server> {
    let python = std::env::var_os("REPRO_PYTHON").map(PathBuf::from)?;
    let server = python.with_file_name("moto_server");
    if !server.is_file() {
        return None;
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = std::process::Command::new(server)
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .ok()?;
    let endpoint = format!("http://127.0.0.1:{port}");
    let s3 = S3Server { child, endpoint };
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Some(s3);
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    panic!("moto_server did not start on port {port}");
}

#[test]
fn an_s3_remote_carries_a_run_to_a_fresh_project() {
    let Some(s3) = start_s3() else {
        assert!(
            std::env::var_os("REPRO_REQUIRE_S3").is_none(),
            "REPRO_REQUIRE_S3 is set but moto_server is missing (run ./setup.sh)"
        );
        eprintln!("skipped: no moto_server beside $REPRO_PYTHON (./setup.sh installs it)");
        return;
    };
    // The bucket, made with a plain PUT (moto accepts any credentials).
    ureq::put(&format!("{}/lab-cache", s3.endpoint))
        .call()
        .expect("create the bucket");
    let setting = format!(
        "[remotes.lab]\nurl = \"s3://lab-cache/paper/runs\"\nendpoint = {:?}",
        s3.endpoint
    );
    let a = project(&setting);
    run_all(&a);
    let b = project(&setting);
    let env = [
        ("AWS_ACCESS_KEY_ID", "lab"),
        ("AWS_SECRET_ACCESS_KEY", "lab-secret-value"),
    ];
    push_then_pull(&a, &b, &env);

    // `run --pull` fetches instead of computing: a third project asks for everything.
    let c = project(&setting);
    let mut cmd = c.repro();
    for (k, v) in env {
        cmd.env(k, v);
    }
    let run = cmd
        .args(["run", "all", "--pull", "--remote", "lab"])
        .assert()
        .success()
        .stderr(contains("pulled from the remote").and(contains(" 0 failed")));
    // Everything comes from the remote except the activation files, which it holds as
    // manifests alone: those are regenerated here (to their recorded digests).
    let text = stderr_of(&run);
    let computed: Vec<&str> = text.lines().filter(|l| l.contains(" done in ")).collect();
    assert!(!computed.is_empty(), "{text}");
    assert!(
        computed
            .iter()
            .all(|l| l.trim_start().starts_with("activations/")),
        "{computed:#?}"
    );
}

/// A remote holding the activation entries as manifests alone (dropped, recomputable)
/// but no analysis: `run --pull` pulls what it can and regenerates the activation files
/// the analysis then reads, instead of counting their manifests as done.
#[test]
fn run_pull_regenerates_entries_the_remote_holds_as_manifests_only() {
    let remote = tempfile::tempdir().unwrap();
    let setting = format!("[remote]\nurl = {:?}", remote.path().display().to_string());
    let a = project(&setting);
    run_all(&a);
    a.repro()
        .args(["push", "data", "train", "activations"])
        .assert()
        .success()
        .stderr(contains("as manifest only (dropped, recomputable)"));
    let b = project(&setting);
    let run = b
        .repro()
        .args(["run", "all", "--pull"])
        .assert()
        .success()
        .stderr(contains(" 0 failed").and(contains("pulled from the remote")));
    let text = stderr_of(&run);
    assert!(
        text.contains("train/") && !text.contains("FAILED"),
        "{text}"
    );
    // The analysis computed here from regenerated activation files equals the one there.
    let metrics = |p: &TestProject| {
        std::fs::read_to_string(p.path().join("report/out/results/metrics.csv")).unwrap()
    };
    assert_eq!(metrics(&a), metrics(&b));
}
