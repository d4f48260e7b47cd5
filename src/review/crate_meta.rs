//! `ro-crate-metadata.json` for `repro export`, following the Workflow Run Crate profile:
//! the pipeline (`pipeline.toml`) is the workflow, `repro` the engine, every unit an action
//! with its parameters, start and end, and the files of the crate (each with its SHA-256 and
//! size) linked as the results of the units that made them.

use serde_json::{json, Value};

/// A file placed in the crate.
pub struct CrateFile {
    /// Path inside the crate (forward slashes).
    pub path: String,
    pub sha256: String,
    pub size: u64,
}

/// One unit of the run.
pub struct CrateAction {
    /// `stage/id`.
    pub name: String,
    pub stage: String,
    pub params: Value,
    pub start: String,
    pub end: String,
    /// Crate paths of the unit's outputs (those in the crate).
    pub results: Vec<String>,
    /// `stage/id` of its inputs.
    pub inputs: Vec<String>,
    pub device: String,
}

pub struct CrateRun<'a> {
    pub title: String,
    pub tool: String,
    pub created: String,
    /// `pipeline.toml` as run.
    pub workflow: &'a CrateFile,
    /// Every other file of the crate.
    pub files: &'a [CrateFile],
    pub actions: &'a [CrateAction],
    /// Crate paths of the report's files: the run's results.
    pub report: Vec<String>,
}

fn id(v: &str) -> Value {
    json!({ "@id": v })
}

pub fn metadata(run: &CrateRun) -> Value {
    let mut graph = vec![
        json!({
            "@id": "ro-crate-metadata.json",
            "@type": "CreativeWork",
            "conformsTo": id("https://w3id.org/ro/crate/1.1"),
            "about": id("./"),
        }),
        json!({
            "@id": "./",
            "@type": "Dataset",
            "name": run.title,
            "description": "A repro run exported with its report, figures, analysis tables and every unit's manifest.",
            "datePublished": run.created,
            "conformsTo": [
                id("https://w3id.org/ro/wfrun/process/0.5"),
                id("https://w3id.org/ro/wfrun/workflow/0.5"),
                id("https://w3id.org/workflowhub/workflow-ro-crate/1.0"),
            ],
            "mainEntity": id(&run.workflow.path),
            "hasPart": std::iter::once(run.workflow)
                .chain(run.files)
                .map(|f| id(&f.path))
                .collect::<Vec<_>>(),
            "mentions": [id("#run")],
        }),
        json!({
            "@id": run.workflow.path,
            "@type": ["File", "SoftwareSourceCode", "ComputationalWorkflow"],
            "name": "The repro pipeline (configuration and profile applied by this run)",
            "sha256": run.workflow.sha256,
            "contentSize": run.workflow.size.to_string(),
            "programmingLanguage": id("#repro"),
        }),
        json!({
            "@id": "#repro",
            "@type": ["ComputerLanguage", "SoftwareApplication"],
            "name": "repro",
            "version": run.tool,
        }),
        json!({
            "@id": "#run",
            "@type": "CreateAction",
            "name": run.title,
            "instrument": id(&run.workflow.path),
            "result": run.report.iter().map(|p| id(p)).collect::<Vec<_>>(),
            "startTime": run.actions.iter().map(|a| a.start.as_str()).min().unwrap_or_default(),
            "endTime": run.actions.iter().map(|a| a.end.as_str()).max().unwrap_or_default(),
        }),
    ];
    let mut stages: Vec<&str> = run.actions.iter().map(|a| a.stage.as_str()).collect();
    stages.sort_unstable();
    stages.dedup();
    for s in stages {
        graph.push(json!({
            "@id": format!("#stage-{s}"),
            "@type": "SoftwareApplication",
            "name": format!("repro stage `{s}`"),
        }));
    }
    for a in run.actions {
        graph.push(json!({
            "@id": format!("#unit-{}", a.name),
            "@type": "CreateAction",
            "name": a.name,
            "instrument": id(&format!("#stage-{}", a.stage)),
            "startTime": a.start,
            "endTime": a.end,
            "result": a.results.iter().map(|p| id(p)).collect::<Vec<_>>(),
            "description": format!(
                "inputs: {}; device: {}; parameters: {}",
                if a.inputs.is_empty() { "none".to_string() } else { a.inputs.join(", ") },
                a.device,
                a.params
            ),
        }));
    }
    for f in run.files {
        graph.push(json!({
            "@id": f.path,
            "@type": "File",
            "sha256": f.sha256,
            "contentSize": f.size.to_string(),
        }));
    }
    json!({ "@context": "https://w3id.org/ro/crate/1.1/context", "@graph": graph })
}
