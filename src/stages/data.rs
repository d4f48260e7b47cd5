//! The `data` stage: one unit per dataset. Fetches the four IDX files (mirror or URL),
//! accepts each only if its decompressed payload matches the pinned digest, parses them
//! strictly and writes the train / val / test splits as `.npy` arrays of raw pixel bytes
//! (readers scale them to [0, 1]: `data::load_split`).

use crate::data::datasets::{self, DatasetSpec, FileSpec, Role};
use crate::data::fetch::{fetch_payload, sources, HttpSettings};
use crate::engine::stage::{
    parse_tables, ConfigIssue, StageImpl, UnitError, UnitJob, UnitOutcome, UnitSpec,
};
use crate::formats::idx::{parse_idx, IdxArray};
use crate::formats::npy::write_npy;
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;
use thiserror::Error;

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct Tables {
    #[serde(default)]
    data: DataTable,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DataTable {
    #[serde(default = "default_datasets")]
    datasets: Vec<String>,
    /// The last `val_size` official training images form the validation split.
    #[serde(default = "default_val_size")]
    val_size: usize,
    /// Local mirror folders laid out as `<mirror>/<dataset>/<file>.gz`, tried before URLs.
    #[serde(default)]
    mirrors: Vec<PathBuf>,
    #[serde(default = "default_timeout")]
    timeout_s: u64,
    #[serde(default = "default_attempts")]
    attempts: u32,
    /// Datasets of your own in the MNIST layout, with their payload digests.
    #[serde(default)]
    custom: BTreeMap<String, CustomDataset>,
}

impl Default for DataTable {
    fn default() -> Self {
        DataTable {
            datasets: default_datasets(),
            val_size: default_val_size(),
            mirrors: Vec::new(),
            timeout_s: default_timeout(),
            attempts: default_attempts(),
            custom: BTreeMap::new(),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CustomDataset {
    #[serde(default)]
    urls: Vec<String>,
    #[serde(default = "default_classes")]
    classes: usize,
    /// SHA-256 of each decompressed file, by file stem (`train-images-idx3-ubyte`...).
    payload_sha256: BTreeMap<String, String>,
}

fn default_datasets() -> Vec<String> {
    datasets::BUILTIN_NAMES
        .iter()
        .map(|s| s.to_string())
        .collect()
}
fn default_val_size() -> usize {
    10_000
}
fn default_timeout() -> u64 {
    60
}
fn default_attempts() -> u32 {
    3
}
fn default_classes() -> usize {
    10
}

/// Run-time facts the data stage needs that are not parameters of the experiment.
pub struct DataStage {
    /// Folder of `pipeline.toml`; relative mirror paths are resolved against it.
    pub base_dir: PathBuf,
    /// Mirrors given on the command line or in `REPRO_DATA_MIRROR`, tried first.
    pub extra_mirrors: Vec<PathBuf>,
}

#[derive(Debug, Error)]
pub enum DataError {
    #[error(transparent)]
    Fetch(#[from] crate::data::fetch::FetchError),
    #[error("{file} of dataset `{dataset}` from {source_name}: {problem}")]
    Content {
        dataset: String,
        file: String,
        source_name: String,
        problem: String,
    },
    #[error("writing {path}: {source}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl DataStage {
    fn spec_for(
        &self,
        name: &str,
        table: &DataTable,
        index: usize,
    ) -> Result<DatasetSpec, ConfigIssue> {
        if let Some(custom) = table.custom.get(name) {
            if datasets::builtin(name).is_some() {
                return Err(ConfigIssue::new(
                    format!("data.custom.{name}"),
                    format!("`{name}` is built in; give your dataset another name"),
                ));
            }
            if !(2..=256).contains(&custom.classes) {
                return Err(ConfigIssue::new(
                    format!("data.custom.{name}.classes"),
                    format!("must be between 2 and 256, got {}", custom.classes),
                ));
            }
            let mut files = Vec::new();
            for role in Role::ALL {
                let path = format!("data.custom.{name}.payload_sha256");
                let digest = custom.payload_sha256.get(role.stem()).ok_or_else(|| {
                    ConfigIssue::new(&path, format!("missing the digest of `{}`", role.stem()))
                })?;
                if digest.len() != 64 || !digest.chars().all(|c| c.is_ascii_hexdigit()) {
                    return Err(ConfigIssue::new(
                        format!("{path}.{}", role.stem()),
                        "must be 64 hexadecimal digits (a SHA-256)",
                    ));
                }
                files.push(FileSpec {
                    role,
                    sha256: digest.to_ascii_lowercase(),
                    bytes: None,
                });
            }
            if let Some(extra) = custom
                .payload_sha256
                .keys()
                .find(|k| !Role::ALL.iter().any(|r| r.stem() == k.as_str()))
            {
                return Err(ConfigIssue::new(
                    format!("data.custom.{name}.payload_sha256.{extra}"),
                    "unknown file; expected the four MNIST file stems",
                ));
            }
            return Ok(DatasetSpec {
                name: name.into(),
                urls: custom.urls.clone(),
                files,
                classes: custom.classes,
            });
        }
        datasets::builtin(name).ok_or_else(|| {
            let mut known: Vec<String> = default_datasets();
            known.extend(table.custom.keys().cloned());
            ConfigIssue::new(
                format!("data.datasets[{index}]"),
                format!("unknown dataset `{name}` (known: {})", known.join(", ")),
            )
        })
    }
}

impl StageImpl for DataStage {
    fn units(
        &self,
        tables: &Value,
        _: &BTreeMap<String, Vec<UnitSpec>>,
    ) -> Result<Vec<UnitSpec>, ConfigIssue> {
        let Tables { data } = parse_tables(tables)?;
        if data.val_size == 0 {
            return Err(ConfigIssue::new("data.val_size", "must be at least 1"));
        }
        for name in &data.datasets {
            if let Some(n) = crate::data::datasets::builtin_train_images(name) {
                if data.val_size >= n {
                    return Err(ConfigIssue::new(
                        "data.val_size",
                        format!(
                            "{} leaves no training images: `{name}` has {n} official training images",
                            data.val_size
                        ),
                    ));
                }
            }
        }
        if data.attempts == 0 || data.timeout_s == 0 {
            let key = if data.attempts == 0 {
                "data.attempts"
            } else {
                "data.timeout_s"
            };
            return Err(ConfigIssue::new(key, "must be at least 1"));
        }
        let mut mirrors = self.extra_mirrors.clone();
        mirrors.extend(data.mirrors.iter().map(|m| self.base_dir.join(m)));
        let mut units = Vec::new();
        for (i, name) in data.datasets.iter().enumerate() {
            if data.datasets[..i].contains(name) {
                return Err(ConfigIssue::new(
                    format!("data.datasets[{i}]"),
                    format!("`{name}` is listed twice"),
                ));
            }
            let spec = self.spec_for(name, &data, i)?;
            let digests: BTreeMap<&str, &str> = spec
                .files
                .iter()
                .map(|f| (f.role.stem(), f.sha256.as_str()))
                .collect();
            units.push(UnitSpec {
                id: name.clone(),
                params: json!({
                    "dataset": name,
                    "classes": spec.classes,
                    "val_size": data.val_size,
                    "payload_sha256": digests,
                }),
                inputs: Vec::new(),
                settings: json!({
                    "spec": spec,
                    "mirrors": mirrors,
                    "timeout_s": data.timeout_s,
                    "attempts": data.attempts,
                }),
            });
        }
        Ok(units)
    }

    fn run(&self, job: &UnitJob) -> Result<UnitOutcome, UnitError> {
        let settings = &job.unit.settings;
        let spec: DatasetSpec = serde_json::from_value(settings["spec"].clone())?;
        let mirrors: Vec<PathBuf> = serde_json::from_value(settings["mirrors"].clone())?;
        let http = HttpSettings {
            timeout: Duration::from_secs(settings["timeout_s"].as_u64().unwrap_or(60)),
            attempts: settings["attempts"].as_u64().unwrap_or(3) as u32,
            ..HttpSettings::default()
        };
        let val_size = job.unit.params["val_size"].as_u64().unwrap_or(10_000) as usize;

        job.progress.phase("files", 4);
        let mut arrays: BTreeMap<&'static str, IdxArray> = BTreeMap::new();
        let mut used_sources = BTreeMap::new();
        for (done, role) in Role::ALL.into_iter().enumerate() {
            let file = spec.file(role);
            let candidates = sources(&spec.name, file, &mirrors, &spec.urls);
            let mut used = String::new();
            let payload = fetch_payload(
                &spec.name,
                file,
                &candidates,
                &http,
                |s| used = s.to_string(),
                |w| job.progress.note(&format!("warning: {w}")),
            )?;
            let array = parse_idx(&payload, role.rank()).map_err(|e| DataError::Content {
                dataset: spec.name.clone(),
                file: file.file_name(),
                source_name: used.clone(),
                problem: e.to_string(),
            })?;
            used_sources.insert(role.stem(), used);
            arrays.insert(role.stem(), array);
            job.progress.advance(done as u64 + 1);
        }
        let content = |role: Role, problem: String| DataError::Content {
            dataset: spec.name.clone(),
            file: spec.file(role).file_name(),
            source_name: used_sources[role.stem()].clone(),
            problem,
        };
        let mut counts = BTreeMap::new();
        for (images_role, labels_role) in [
            (Role::TrainImages, Role::TrainLabels),
            (Role::TestImages, Role::TestLabels),
        ] {
            let images = &arrays[images_role.stem()];
            let labels = &arrays[labels_role.stem()];
            if images.dims[0] != labels.dims[0] {
                return Err(content(
                    labels_role,
                    format!("{} labels for {} images", labels.dims[0], images.dims[0]),
                )
                .into());
            }
            if let Some(bad) = labels.data.iter().position(|&l| l as usize >= spec.classes) {
                return Err(content(
                    labels_role,
                    format!(
                        "label {} at index {bad} is not below classes = {}",
                        labels.data[bad], spec.classes
                    ),
                )
                .into());
            }
        }
        let train = &arrays[Role::TrainImages.stem()];
        let n_official = train.dims[0];
        if val_size >= n_official {
            return Err(content(
                Role::TrainImages,
                format!("val_size = {val_size} leaves no training samples out of {n_official}"),
            )
            .into());
        }
        let features = train.dims[1] * train.dims[2];
        let test = &arrays[Role::TestImages.stem()];
        if test.dims[1] * test.dims[2] != features {
            return Err(content(
                Role::TestImages,
                format!(
                    "image size {:?} differs from training images",
                    &test.dims[1..]
                ),
            )
            .into());
        }
        let n_train = n_official - val_size;
        let train_labels = &arrays[Role::TrainLabels.stem()].data;
        let test_labels = &arrays[Role::TestLabels.stem()].data;
        let splits: [(&str, &[u8], &[u8]); 3] = [
            (
                "train",
                &train.data[..n_train * features],
                &train_labels[..n_train],
            ),
            (
                "val",
                &train.data[n_train * features..],
                &train_labels[n_train..],
            ),
            ("test", &test.data, test_labels),
        ];
        job.progress.phase("splits", 3);
        for (i, (split, pixels, labels)) in splits.iter().enumerate() {
            // Raw bytes, a quarter of float32's size: readers scale them (`load_split`).
            let n = labels.len();
            let path = job.out_dir.join(format!("{split}-images.npy"));
            write_npy(&path, &[n, features], pixels)
                .map_err(|source| DataError::Write { path, source })?;
            let path = job.out_dir.join(format!("{split}-labels.npy"));
            write_npy(&path, &[n], labels).map_err(|source| DataError::Write { path, source })?;
            let mut per_class = vec![0usize; spec.classes];
            labels.iter().for_each(|&l| per_class[l as usize] += 1);
            counts.insert(*split, json!({ "samples": n, "per_class": per_class }));
            job.progress.advance(i as u64 + 1);
        }
        let info = json!({
            "dataset": spec.name,
            "classes": spec.classes,
            "image_shape": [train.dims[1], train.dims[2]],
            "splits": counts,
            "payload_sha256": spec.files.iter().map(|f| (f.role.stem(), f.sha256.clone())).collect::<BTreeMap<_, _>>(),
        });
        let path = job.out_dir.join("dataset.json");
        std::fs::write(&path, serde_json::to_string_pretty(&info)?)
            .map_err(|source| DataError::Write { path, source })?;
        // Where the bytes came from is provenance, not content: it goes to the manifest
        // only, so a mirror and a download give the same outputs.
        let mut info = info;
        info["sources"] = json!(used_sources);
        Ok(UnitOutcome {
            device: "cpu".into(),
            info,
        })
    }
}
