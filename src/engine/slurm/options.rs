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
    /// `gres` asks for a GPU, else `cpu`; a stage's table decides for that stage, the
    /// top level for the rest ([`SlurmOptions::node_device`]). Each task checks its own.
    pub device: Option<String>,
    #[serde(default)]
    pub stages: BTreeMap<String, SlurmOptions>,
}

impl SlurmOptions {
    /// The device tasks of `stage` (or, for `None`, of stages without a table of their
    /// own) compute on: the stage's `device`, else `cuda` where its `gres` asks for a GPU;
    /// failing both, the same for the top-level settings; else `cpu`. Training on GPU
    /// nodes and analysing on CPU nodes is then one configuration.
    pub fn node_device(&self, stage: Option<&str>) -> Result<&str, String> {
        fn own<'a>(o: &'a SlurmOptions, at: &str) -> Result<Option<&'a str>, String> {
            match o.device.as_deref() {
                Some(d @ ("cpu" | "cuda")) => Ok(Some(d)),
                Some(other) => Err(format!("{at}: `{other}` is not a device (cpu or cuda)")),
                None => Ok(o
                    .gres
                    .as_deref()
                    .is_some_and(|g| g.contains("gpu"))
                    .then_some("cuda")),
            }
        }
        if let Some(name) = stage {
            if let Some(o) = self.stages.get(name) {
                if let Some(d) = own(o, &format!("executor.slurm.stages.{name}.device"))? {
                    return Ok(d);
                }
            }
        }
        Ok(own(self, "executor.slurm.device")?.unwrap_or("cpu"))
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

#[cfg(test)]
mod tests {
    use super::SlurmOptions;

    fn options(toml_text: &str) -> SlurmOptions {
        toml::from_str(toml_text).unwrap()
    }

    #[test]
    fn each_stage_computes_on_the_device_its_own_table_asks_for() {
        // Training on GPU nodes, everything else on CPU nodes.
        let o = options("[stages.train]\ngres = \"gpu:1\"\npartition = \"gpu\"\n");
        assert_eq!(o.node_device(Some("train")), Ok("cuda"));
        assert_eq!(o.node_device(Some("analysis")), Ok("cpu"));
        assert_eq!(o.node_device(None), Ok("cpu"));
        // A top-level GPU request covers the stages without their own say; a stage can
        // still ask for CPUs.
        let o = options("gres = \"gpu:1\"\n[stages.analysis]\ndevice = \"cpu\"\n");
        assert_eq!(o.node_device(Some("train")), Ok("cuda"));
        assert_eq!(o.node_device(Some("analysis")), Ok("cpu"));
        // A stage table that says nothing of devices defers to the top level.
        let o = options("device = \"cuda\"\n[stages.analysis]\nmem = \"8G\"\n");
        assert_eq!(o.node_device(Some("analysis")), Ok("cuda"));
        // Bad values are named by their key.
        let o = options("[stages.train]\ndevice = \"tpu\"\n");
        let e = o.node_device(Some("train")).unwrap_err();
        assert!(e.contains("executor.slurm.stages.train.device") && e.contains("tpu"));
    }
}
