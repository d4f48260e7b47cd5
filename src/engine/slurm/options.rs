//! The sbatch options of `[executor.slurm]`, per stage, and the device they imply for the
//! nodes.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// sbatch options; `stages` overrides them per stage (training wants GPUs, analysis CPUs).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlurmOptions {
    pub partition: Option<String>,
    pub account: Option<String>,
    /// Time limit, as sbatch takes it (e.g. "02:00:00").
    pub time: Option<String>,
    pub cpus_per_task: Option<u32>,
    /// Memory, as sbatch takes it (e.g. "8G").
    pub mem: Option<String>,
    /// Generic resources, e.g. "gpu:1".
    pub gres: Option<String>,
    /// Further sbatch flags, verbatim.
    #[serde(default)]
    pub extra: Vec<String>,
    /// The device the tasks compute on, `cpu` or `cuda`, decided for the nodes rather than
    /// for the planning host (`--device auto` there would see no GPU). Unset: `cuda` when
    /// `gres` (here or for a stage) asks for a GPU, else `cpu`. Each task checks it has it.
    pub device: Option<String>,
    #[serde(default)]
    pub stages: BTreeMap<String, SlurmOptions>,
}

impl SlurmOptions {
    /// The device the tasks will compute on: `device`, else `cuda` where `gres` asks for a
    /// GPU (for any stage), else `cpu`.
    pub fn node_device(&self) -> Result<&str, String> {
        match self.device.as_deref() {
            Some(d @ ("cpu" | "cuda")) => Ok(d),
            Some(other) => Err(format!(
                "executor.slurm.device: `{other}` is not a device (cpu or cuda)"
            )),
            None => {
                let gpu = |o: &SlurmOptions| o.gres.as_deref().is_some_and(|g| g.contains("gpu"));
                Ok(if gpu(self) || self.stages.values().any(gpu) {
                    "cuda"
                } else {
                    "cpu"
                })
            }
        }
    }

    pub(super) fn for_stage(&self, stage: &str) -> Vec<String> {
        let o = self.stages.get(stage);
        let pick = |f: fn(&SlurmOptions) -> Option<String>| o.and_then(f).or_else(|| f(self));
        let mut args = Vec::new();
        if let Some(v) = pick(|s| s.partition.clone()) {
            args.push(format!("--partition={v}"));
        }
        if let Some(v) = pick(|s| s.account.clone()) {
            args.push(format!("--account={v}"));
        }
        if let Some(v) = pick(|s| s.time.clone()) {
            args.push(format!("--time={v}"));
        }
        if let Some(v) = pick(|s| s.cpus_per_task.map(|c| c.to_string())) {
            args.push(format!("--cpus-per-task={v}"));
        }
        if let Some(v) = pick(|s| s.mem.clone()) {
            args.push(format!("--mem={v}"));
        }
        if let Some(v) = pick(|s| s.gres.clone()) {
            args.push(format!("--gres={v}"));
        }
        args.extend(self.extra.iter().cloned());
        if let Some(o) = o {
            args.extend(o.extra.iter().cloned());
        }
        args
    }
}
