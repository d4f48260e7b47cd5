//! Shared test fixtures: a throw-away project folder, tiny IDX datasets, and a real HTTP
//! server on 127.0.0.1 that can misbehave on purpose.
#![allow(dead_code)]

mod layout;
#[allow(unused_imports)] // used by end_to_end only
pub use layout::layout_problems;

use assert_cmd::Command;
use flate2::write::GzEncoder;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The real datasets beside the repository (`../shared/datasets`).
pub fn shared_datasets() -> PathBuf {
    repo_root().join("../shared/datasets")
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub fn sha256(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut e = GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

pub fn idx(dims: &[usize], data: &[u8]) -> Vec<u8> {
    repro::formats::idx::encode_idx(dims, data)
}

/// A tiny MNIST-style dataset: `n_train` and `n_test` images of 2x2 pixels, 3 classes.
pub struct TinyDataset {
    /// Decompressed payloads by file stem.
    pub payloads: HashMap<&'static str, Vec<u8>>,
}

impl TinyDataset {
    pub fn new(n_train: usize, n_test: usize) -> Self {
        let images = |n: usize| {
            idx(
                &[n, 2, 2],
                &(0..n * 4).map(|i| (i * 37 % 256) as u8).collect::<Vec<_>>(),
            )
        };
        let labels = |n: usize| idx(&[n], &(0..n).map(|i| (i % 3) as u8).collect::<Vec<_>>());
        let mut payloads = HashMap::new();
        payloads.insert("train-images-idx3-ubyte", images(n_train));
        payloads.insert("train-labels-idx1-ubyte", labels(n_train));
        payloads.insert("t10k-images-idx3-ubyte", images(n_test));
        payloads.insert("t10k-labels-idx1-ubyte", labels(n_test));
        TinyDataset { payloads }
    }

    /// A learnable task: 4x4 images, 3 classes; class c lights up pixel block c, plus a
    /// little deterministic noise everywhere.
    pub fn learnable(n_train: usize, n_test: usize) -> Self {
        let make = |n: usize, salt: usize| {
            let mut pixels = Vec::with_capacity(n * 16);
            let mut labels = Vec::with_capacity(n);
            for i in 0..n {
                let c = (i * 7 + salt) % 3;
                labels.push(c as u8);
                for p in 0..16 {
                    let noise = ((i * 31 + p * 17 + salt) % 50) as u8;
                    pixels.push(if p / 4 == c { 200 + noise } else { noise });
                }
            }
            (idx(&[n, 4, 4], &pixels), idx(&[n], &labels))
        };
        let (tri, trl) = make(n_train, 0);
        let (tei, tel) = make(n_test, 1);
        let mut payloads = HashMap::new();
        payloads.insert("train-images-idx3-ubyte", tri);
        payloads.insert("train-labels-idx1-ubyte", trl);
        payloads.insert("t10k-images-idx3-ubyte", tei);
        payloads.insert("t10k-labels-idx1-ubyte", tel);
        TinyDataset { payloads }
    }

    /// The `[data.custom.tiny]` table declaring this dataset, served from `url`.
    pub fn toml(&self, url: &str, val_size: usize) -> String {
        let mut s = format!(
            "[data]\ndatasets = [\"tiny\"]\nval_size = {val_size}\nattempts = 1\ntimeout_s = 5\n\n[data.custom.tiny]\nurls = [\"{url}\"]\nclasses = 3\n[data.custom.tiny.payload_sha256]\n"
        );
        let mut stems: Vec<_> = self.payloads.keys().collect();
        stems.sort();
        for stem in stems {
            s.push_str(&format!("{stem} = \"{}\"\n", sha256(&self.payloads[stem])));
        }
        s
    }

    /// Writes this dataset as the mirror folder `mirror/` of the project at `project` and
    /// returns the `[data]` tables that read it from there (the URL reaches nothing).
    pub fn mirror_in(&self, project: &Path, val_size: usize) -> String {
        self.write_mirror(&project.join("mirror"));
        self.toml("http://127.0.0.1:9/", val_size).replacen(
            "[data]\n",
            "[data]\nmirrors = [\"mirror\"]\n",
            1,
        )
    }

    /// Writes the gzipped files as a mirror folder `<dir>/tiny/<file>.gz`.
    pub fn write_mirror(&self, dir: &Path) {
        std::fs::create_dir_all(dir.join("tiny")).unwrap();
        for (stem, payload) in &self.payloads {
            std::fs::write(dir.join("tiny").join(format!("{stem}.gz")), gzip(payload)).unwrap();
        }
    }
}

/// What the test server answers for a path.
#[derive(Clone)]
pub enum Reply {
    Ok(Vec<u8>),
    /// Announces the full length, sends only the first half, then closes.
    Truncated(Vec<u8>),
    Status(u16),
}

/// A minimal HTTP/1.1 server on 127.0.0.1 with a fixed route table; unknown paths get 404.
pub struct TestServer {
    pub base: String,
    pub routes: Arc<Mutex<HashMap<String, Reply>>>,
    pub hits: Arc<Mutex<Vec<String>>>,
}

impl TestServer {
    pub fn start() -> TestServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}/", listener.local_addr().unwrap());
        let routes: Arc<Mutex<HashMap<String, Reply>>> = Arc::default();
        let hits: Arc<Mutex<Vec<String>>> = Arc::default();
        let (r, h) = (routes.clone(), hits.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut request = String::new();
                if reader.read_line(&mut request).is_err() {
                    continue;
                }
                // Drain the headers.
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                        break;
                    }
                }
                let path = request.split_whitespace().nth(1).unwrap_or("/").to_string();
                h.lock().unwrap().push(path.clone());
                let reply = r
                    .lock()
                    .unwrap()
                    .get(&path)
                    .cloned()
                    .unwrap_or(Reply::Status(404));
                let _ = match reply {
                    Reply::Ok(body) => {
                        let head = format!(
                            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                            body.len()
                        );
                        stream
                            .write_all(head.as_bytes())
                            .and_then(|_| stream.write_all(&body))
                    }
                    Reply::Truncated(body) => {
                        let head = format!(
                            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                            body.len()
                        );
                        stream
                            .write_all(head.as_bytes())
                            .and_then(|_| stream.write_all(&body[..body.len() / 2]))
                    }
                    Reply::Status(code) => {
                        let head = format!("HTTP/1.1 {code} Nope\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
                        stream.write_all(head.as_bytes())
                    }
                };
                let _ = stream.flush();
            }
        });
        TestServer { base, routes, hits }
    }

    pub fn serve(&self, path: &str, reply: Reply) {
        self.routes.lock().unwrap().insert(path.to_string(), reply);
    }

    /// Serves every file of `data` gzipped under `/<prefix>/`.
    pub fn serve_dataset(&self, prefix: &str, data: &TinyDataset) {
        for (stem, payload) in &data.payloads {
            self.serve(&format!("/{prefix}/{stem}.gz"), Reply::Ok(gzip(payload)));
        }
    }
}

/// The `[claims]` table of the repository's pipeline.toml, as text.
pub fn repo_claims_table() -> String {
    let text = std::fs::read_to_string(repo_root().join("pipeline.toml")).unwrap();
    let start = text
        .find("\n[claims]\n")
        .expect("pipeline.toml has [claims]")
        + 1;
    let rest = &text[start..];
    let end = rest[1..].find("\n[").map_or(rest.len(), |i| i + 2);
    rest[..end].to_string()
}

/// A temporary project: its own pipeline.toml and cache, the repository's stage
/// declarations unless told otherwise.
pub struct TestProject {
    pub dir: tempfile::TempDir,
}

impl TestProject {
    pub fn new(tables: &str) -> TestProject {
        Self::with_stages(tables, &repo_root().join("stages"))
    }

    pub fn with_stages(tables: &str, stages: &Path) -> TestProject {
        let dir = tempfile::tempdir().unwrap();
        let p = TestProject { dir };
        p.write_config(tables, stages);
        p
    }

    /// Writes pipeline.toml with the repository's report templates.
    pub fn write_config(&self, tables: &str, stages: &Path) {
        self.write_config_with_templates(tables, stages, &repo_root().join("report"));
    }

    /// With the repository's stages and no `[claims]` table of its own, the project gets
    /// the repository's (the report stage requires one).
    pub fn write_config_with_templates(&self, tables: &str, stages: &Path, templates: &Path) {
        let claims = if stages.join("report.toml").exists() && !tables.contains("[claims]") {
            repo_claims_table()
        } else {
            String::new()
        };
        let text = format!(
            "[project]\nstages = {:?}\ntemplates = {:?}\n{tables}\n{claims}",
            stages.display().to_string(),
            templates.display().to_string()
        );
        std::fs::write(self.path().join("pipeline.toml"), text).unwrap();
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn cache(&self) -> PathBuf {
        self.path().join("cache")
    }

    pub fn repro(&self) -> Command {
        let mut c = Command::cargo_bin("repro").unwrap();
        c.current_dir(self.path())
            .env_remove("REPRO_DATA_MIRROR")
            .env_remove("REPRO_PROFILE");
        c
    }

    /// Committed entries of a stage (folders with a manifest).
    pub fn entries(&self, stage: &str) -> Vec<PathBuf> {
        let mut out = Vec::new();
        if let Ok(rd) = std::fs::read_dir(self.cache().join(stage)) {
            for e in rd.flatten() {
                let p = e.path();
                let name = e.file_name().to_string_lossy().into_owned();
                if !name.starts_with('.') && p.is_dir() {
                    out.push(p);
                }
            }
        }
        out
    }

    /// Files left anywhere under the cache's staging folders.
    pub fn staging_leftovers(&self) -> Vec<PathBuf> {
        let mut out = Vec::new();
        if let Ok(rd) = std::fs::read_dir(self.cache()) {
            for stage in rd.flatten() {
                if let Ok(st) = std::fs::read_dir(stage.path().join(".staging")) {
                    out.extend(st.flatten().map(|e| e.path()));
                }
            }
        }
        out
    }
}

/// A project that trains on the learnable tiny dataset (from a local mirror): `tables`
/// follows the generated `[data]` table.
pub fn tiny_training_project(n_train: usize, n_test: usize, tables: &str) -> TestProject {
    let data = TinyDataset::learnable(n_train, n_test);
    let p = TestProject::new("");
    let all = data.mirror_in(p.path(), 30) + tables;
    p.write_config(&all, &repo_root().join("stages"));
    p
}

impl TestProject {
    /// A `stages/` folder of the project's own holding only the built-in `data` stage's
    /// declaration, for tests that add stages of their own beside it.
    pub fn stages_with_data(&self) -> PathBuf {
        let dir = self.path().join("stages");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::copy(repo_root().join("stages/data.toml"), dir.join("data.toml")).unwrap();
        dir
    }

    /// The entry of `stage` whose manifest mentions `needle` (e.g. a unit id).
    pub fn entry_for(&self, stage: &str, needle: &str) -> PathBuf {
        self.entries(stage)
            .into_iter()
            .find(|e| {
                std::fs::read_to_string(e.join("manifest.json"))
                    .unwrap()
                    .contains(needle)
            })
            .unwrap_or_else(|| panic!("no {stage} entry with {needle}"))
    }
}

/// A `repro` process frozen (SIGSTOP) at a fault point, see `engine::fault`: a test acts
/// while it holds whatever it holds there, then resumes it. Dropped unresumed (a failing
/// test), it is killed rather than left stopped.
pub struct Frozen {
    child: Option<std::process::Child>,
}

impl Frozen {
    /// Starts `cmd` with `REPRO_FAULT=point` and `REPRO_FAULT_ACTION=stop` and returns once
    /// the kernel reports it stopped there (no polling, no timing).
    pub fn at(mut cmd: std::process::Command, point: &str) -> Frozen {
        let child = cmd
            .env("REPRO_FAULT", point)
            .env("REPRO_FAULT_ACTION", "stop")
            .spawn()
            .unwrap();
        let mut status = 0;
        let rc = unsafe { libc::waitpid(child.id() as i32, &mut status, libc::WUNTRACED) };
        assert_eq!(rc, child.id() as i32, "waitpid");
        assert!(
            libc::WIFSTOPPED(status),
            "the process ended (status {status:#x}) instead of stopping at {point}"
        );
        Frozen { child: Some(child) }
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().unwrap().id()
    }

    /// Lets it go on from the fault point.
    pub fn resume(mut self) -> std::process::Child {
        let child = self.child.take().unwrap();
        unsafe { libc::kill(child.id() as i32, libc::SIGCONT) };
        child
    }
}

impl Drop for Frozen {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            unsafe { libc::kill(child.id() as i32, libc::SIGCONT) };
            let _ = child.wait();
        }
    }
}

/// The first line a child writes to its piped stderr (the rest stays in the pipe).
pub fn first_stderr_line(
    child: &mut std::process::Child,
) -> (String, BufReader<std::process::ChildStderr>) {
    let mut reader = BufReader::new(child.stderr.take().expect("stderr piped"));
    let mut line = String::new();
    reader.read_line(&mut line).unwrap();
    (line, reader)
}

/// The exit code of a process that stopped at a fault point (`engine::fault::EXIT_CODE`).
pub const FAULT_EXIT: i32 = 86;

/// Two small command stages, no data and no training: `base` writes two files from its
/// parameter `n` (1 unless `tables` sets `[base]`), `top` reads `base`.
pub fn two_stage_project(tables: &str) -> TestProject {
    let p = TestProject::new("");
    let stages = p.path().join("stages");
    std::fs::create_dir_all(&stages).unwrap();
    std::fs::write(
        stages.join("base.toml"),
        r#"name = "base"
description = "two files from a parameter"
version = 1
kind = "command"
reads = ["base"]
command = ["sh", "-c", "echo \"$REPRO_PARAMS\" > \"$REPRO_OUT/a.txt\"; seq 1 500 > \"$REPRO_OUT/b.txt\""]
outputs = ["a.txt", "b.txt"]
"#,
    )
    .unwrap();
    std::fs::write(
        stages.join("top.toml"),
        r#"name = "top"
description = "reads base"
version = 1
kind = "command"
needs = ["base"]
command = ["sh", "-c", "echo \"$REPRO_INPUTS\" | wc -c > \"$REPRO_OUT/top.txt\""]
outputs = ["top.txt"]
"#,
    )
    .unwrap();
    let base = if tables.contains("[base]") {
        ""
    } else {
        "[base]\nn = 1\n\n"
    };
    p.write_config(&format!("{base}{tables}\n"), &stages);
    p
}
