//! The data stage against a real HTTP server on 127.0.0.1 and against local mirrors.

mod common;

use common::*;
use predicates::str::contains;
use repro::data::load_split;

fn project_for(server: &TestServer, data: &TinyDataset) -> TestProject {
    TestProject::new(&data.toml(&format!("{}tiny/", server.base), 2))
}

#[test]
fn fetches_verifies_and_splits_over_http_then_reuses() {
    let server = TestServer::start();
    let data = TinyDataset::new(10, 4);
    server.serve_dataset("tiny", &data);
    let project = project_for(&server, &data);

    project
        .repro()
        .args(["run", "data"])
        .assert()
        .success()
        .stderr(contains("1 unit(s) run, 0 reused"));
    let entries = project.entries("data");
    assert_eq!(entries.len(), 1);
    let train = load_split(&entries[0], "train").unwrap();
    let val = load_split(&entries[0], "val").unwrap();
    let test = load_split(&entries[0], "test").unwrap();
    assert_eq!((train.len, val.len, test.len, train.features), (8, 2, 4, 4));
    // The split keeps the official order: val is the last `val_size` training images.
    assert_eq!(train.labels, vec![0, 1, 2, 0, 1, 2, 0, 1]);
    assert_eq!(val.labels, vec![2, 0]);
    assert_eq!(train.images[1], 37.0 / 255.0);
    assert!(train.images.iter().all(|&p| (0.0..=1.0).contains(&p)));
    let hits = server.hits.lock().unwrap().len();
    assert_eq!(hits, 4);

    project
        .repro()
        .args(["run", "data"])
        .assert()
        .success()
        .stderr(contains("0 unit(s) run, 1 reused"));
    assert_eq!(
        server.hits.lock().unwrap().len(),
        hits,
        "a cached dataset is not downloaded again"
    );
    project
        .repro()
        .arg("verify")
        .assert()
        .success()
        .stdout(contains("1 entry: 0 problem(s)"));
}

#[test]
fn a_local_mirror_is_used_before_any_url() {
    let server = TestServer::start();
    let data = TinyDataset::new(10, 4);
    let project = project_for(&server, &data);
    let mirror = project.path().join("mirror");
    data.write_mirror(&mirror);
    project
        .repro()
        .args(["run", "data", "--data-mirror", "mirror"])
        .assert()
        .success();
    assert_eq!(project.entries("data").len(), 1);
    assert!(server.hits.lock().unwrap().is_empty());
}

/// Serves the dataset with one file replaced by `reply`, runs, and checks the failure is
/// reported with the file and URL and leaves nothing in the cache.
fn assert_fails_cleanly(reply: Reply, expected: &str) {
    let server = TestServer::start();
    let data = TinyDataset::new(10, 4);
    server.serve_dataset("tiny", &data);
    server.serve("/tiny/train-labels-idx1-ubyte.gz", reply);
    let project = project_for(&server, &data);
    let url = format!("{}tiny/train-labels-idx1-ubyte.gz", server.base);
    project
        .repro()
        .args(["run", "data"])
        .assert()
        .failure()
        .stderr(contains("train-labels-idx1-ubyte.gz"))
        .stderr(contains(url.as_str()))
        .stderr(contains(expected))
        .stderr(contains("1 failed"));
    assert!(
        project.entries("data").is_empty(),
        "no cache entry after a failure"
    );
    assert!(
        project.staging_leftovers().is_empty(),
        "no staging leftovers"
    );
}

#[test]
fn http_404_is_named() {
    assert_fails_cleanly(Reply::Status(404), "HTTP 404");
}

#[test]
fn truncated_body_is_named() {
    let data = TinyDataset::new(10, 4);
    assert_fails_cleanly(
        Reply::Truncated(gzip(&data.payloads["train-labels-idx1-ubyte"])),
        "truncated",
    );
}

#[test]
fn checksum_mismatch_is_named() {
    let other = idx(&[10], &[1; 10]);
    assert_fails_cleanly(Reply::Ok(gzip(&other)), "checksum mismatch");
}

#[test]
fn corrupt_gzip_is_named() {
    let mut bytes = gzip(&TinyDataset::new(10, 4).payloads["train-labels-idx1-ubyte"]);
    let mid = bytes.len() / 2;
    for b in &mut bytes[10..mid] {
        *b ^= 0x5a;
    }
    assert_fails_cleanly(Reply::Ok(bytes), "corrupt gzip stream");
}

#[test]
fn wrong_magic_number_is_named() {
    // The digest pinned for the file is that of the bad payload, so only the IDX parser
    // can catch it.
    let server = TestServer::start();
    let mut data = TinyDataset::new(10, 4);
    let mut bad = data.payloads["train-labels-idx1-ubyte"].clone();
    bad[0] = 0x12;
    data.payloads.insert("train-labels-idx1-ubyte", bad);
    server.serve_dataset("tiny", &data);
    let project = project_for(&server, &data);
    project
        .repro()
        .args(["run", "data"])
        .assert()
        .failure()
        .stderr(contains("train-labels-idx1-ubyte.gz"))
        .stderr(contains(format!(
            "{}tiny/train-labels-idx1-ubyte.gz",
            server.base
        )))
        .stderr(contains("wrong magic number"));
    assert!(project.entries("data").is_empty());
}

#[test]
fn real_mnist_from_the_shared_mirror() {
    let mirror = shared_datasets();
    if !mirror.join("mnist").is_dir() {
        panic!("the real datasets are expected at {}", mirror.display());
    }
    let project = TestProject::new("[data]\ndatasets = [\"mnist\"]\n");
    project
        .repro()
        .args(["run", "data", "--data-mirror"])
        .arg(&mirror)
        .assert()
        .success();
    let entry = &project.entries("data")[0];
    let train = load_split(entry, "train").unwrap();
    let val = load_split(entry, "val").unwrap();
    let test = load_split(entry, "test").unwrap();
    assert_eq!(
        (train.len, val.len, test.len, train.features),
        (50_000, 10_000, 10_000, 784)
    );
    assert_eq!(train.labels[..8], [5, 0, 4, 1, 9, 2, 1, 3]);
    assert_eq!(test.labels[..8], [7, 2, 1, 0, 4, 1, 4, 9]);
    let info: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(entry.join("dataset.json")).unwrap())
            .unwrap();
    assert_eq!(info["splits"]["test"]["per_class"][0], 980);
}
