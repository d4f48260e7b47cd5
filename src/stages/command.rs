//! A user's own stage: an external command with declared inputs and outputs, hashed,
//! cached and reported like a built-in stage.
//!
//! The command runs in the project folder with these environment variables:
//! `REPRO_OUT` (the folder to write the declared outputs into), `REPRO_INPUTS` (JSON object
//! `{"stage/unit": "/path/to/entry"}`), `REPRO_PARAMS` (JSON of the tables the stage reads)
//! and `REPRO_UNIT`. In arguments, `{out}` and `{unit}` are replaced too, and
//! `{input:STAGE}` by the entry folder of the unit's input from STAGE. Its stdout and
//! stderr are kept as `log.txt` among the outputs.

use crate::engine::stage::{ConfigIssue, StageImpl, UnitError, UnitJob, UnitOutcome, UnitSpec};
use crate::engine::unit::UnitRef;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::{Command, Stdio};

pub struct CommandStage {
    pub name: String,
    pub command: Vec<String>,
    pub outputs: Vec<String>,
    pub needs: Vec<String>,
    pub per_unit_of: Option<String>,
    /// The project folder: the command's working directory.
    pub base_dir: PathBuf,
}

impl StageImpl for CommandStage {
    fn units(
        &self,
        tables: &Value,
        upstream: &BTreeMap<String, Vec<UnitSpec>>,
    ) -> Result<Vec<UnitSpec>, ConfigIssue> {
        let params = json!({ "tables": tables, "command": self.command, "outputs": self.outputs });
        let all_inputs = || -> Vec<UnitRef> {
            self.needs
                .iter()
                .flat_map(|s| {
                    upstream
                        .get(s)
                        .into_iter()
                        .flatten()
                        .map(move |u| UnitRef::new(s, &u.id))
                })
                .collect()
        };
        Ok(match &self.per_unit_of {
            None => vec![UnitSpec {
                id: "all".into(),
                params,
                inputs: all_inputs(),
                settings: Value::Null,
            }],
            Some(of) => upstream
                .get(of)
                .into_iter()
                .flatten()
                .map(|u| UnitSpec {
                    id: u.id.clone(),
                    params: params.clone(),
                    inputs: vec![UnitRef::new(of, &u.id)],
                    settings: Value::Null,
                })
                .collect(),
        })
    }

    fn run(&self, job: &UnitJob) -> Result<UnitOutcome, UnitError> {
        let out = job.out_dir.to_string_lossy().into_owned();
        let inputs: BTreeMap<String, String> = job
            .inputs
            .iter()
            .map(|(r, p)| (r.to_string(), p.to_string_lossy().into_owned()))
            .collect();
        let expand = |arg: &str| -> Result<String, UnitError> {
            let mut a = arg.replace("{out}", &out).replace("{unit}", &job.unit.id);
            while let Some(start) = a.find("{input:") {
                let end = a[start..]
                    .find('}')
                    .map(|e| start + e)
                    .ok_or("unclosed {input:...}")?;
                let stage = &a[start + 7..end];
                let path = job.input_of(stage).ok_or_else(|| {
                    format!("`{arg}`: this unit has no input from stage `{stage}`")
                })?;
                a.replace_range(start..=end, &path.to_string_lossy());
            }
            Ok(a)
        };
        let args: Vec<String> = self
            .command
            .iter()
            .map(|a| expand(a))
            .collect::<Result<_, _>>()?;
        let log_path = job.out_dir.join("log.txt");
        let log = std::fs::File::create(&log_path)?;
        job.progress.note(&format!("running {}", args.join(" ")));
        let status = Command::new(&args[0])
            .args(&args[1..])
            .current_dir(&self.base_dir)
            .env("REPRO_OUT", &out)
            .env("REPRO_INPUTS", serde_json::to_string(&inputs)?)
            .env("REPRO_PARAMS", job.unit.params["tables"].to_string())
            .env("REPRO_UNIT", &job.unit.id)
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .status()
            .map_err(|e| format!("cannot start `{}`: {e}", args[0]))?;
        if !status.success() {
            let text = std::fs::read_to_string(&log_path).unwrap_or_default();
            let tail: Vec<&str> = text.lines().rev().take(10).collect();
            let tail: Vec<&str> = tail.into_iter().rev().collect();
            return Err(format!(
                "stage `{}`: `{}` failed ({status}); last output:\n{}",
                self.name,
                args.join(" "),
                tail.join("\n")
            )
            .into());
        }
        let missing: Vec<&String> = self
            .outputs
            .iter()
            .filter(|o| !job.out_dir.join(o).exists())
            .collect();
        if !missing.is_empty() {
            return Err(format!(
                "stage `{}`: the command succeeded but did not write the declared output(s) {}",
                self.name,
                missing
                    .iter()
                    .map(|m| format!("`{m}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
            .into());
        }
        Ok(UnitOutcome {
            device: "cpu".into(),
            info: json!({ "command": args }),
        })
    }
}
