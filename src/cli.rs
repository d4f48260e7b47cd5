//! The command line as clap parses it: global options, the subcommands and their
//! arguments. `main.rs` dispatches them; `commands/` carries them out.

use crate::commands;
use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

#[derive(Parser)]
#[command(
    name = "repro",
    version,
    about = "Regenerate \"DNNs as Layers of Cooperating Classifiers\" from raw data to a report",
    long_about = "Regenerate \"DNNs as Layers of Cooperating Classifiers\" (Davel et al., 2020) \
from raw data to a report. Every stage is split into units that are cached by a SHA-256 of \
their code, parameters and inputs: only what a change touches runs again."
)]
pub(crate) struct Cli {
    /// The experiment file; stage declarations and the cache are found relative to it.
    #[arg(
        long,
        global = true,
        default_value = "pipeline.toml",
        env = "REPRO_CONFIG"
    )]
    pub(crate) config: PathBuf,
    /// A named profile of pipeline.toml laid over the defaults (e.g. `quick`).
    #[arg(long, global = true, env = "REPRO_PROFILE")]
    pub(crate) profile: Option<String>,
    /// Change one value of pipeline.toml for this command: a dotted key and a TOML value
    /// (`--set train.lr=0.003`; a bare word is a string). Repeatable; validated like the
    /// file, and part of the keys like any value of it.
    #[arg(long = "set", global = true, value_name = "KEY=VALUE")]
    pub(crate) sets: Vec<String>,
    /// Local dataset mirror folder, tried before the canonical URLs (repeatable; also
    /// REPRO_DATA_MIRROR, colon-separated).
    #[arg(long = "data-mirror", global = true, value_name = "DIR")]
    pub(crate) data_mirror: Vec<PathBuf>,
    /// Where networks train and run: auto (CUDA when libtorch sees a GPU), cpu or cuda.
    #[arg(long, global = true, default_value = "auto", env = "REPRO_DEVICE")]
    pub(crate) device: String,
    /// Given to Slurm tasks: a stage's device where it differs from `--device` (`train=cuda`),
    /// as `[executor.slurm.stages.NAME]` decided it on the planning host.
    #[arg(
        long = "stage-device",
        global = true,
        hide = true,
        value_name = "STAGE=DEVICE"
    )]
    pub(crate) stage_devices: Vec<String>,
    /// Threads per unit for work whose results do not depend on the count: the analysis
    /// kernels, and libtorch in stages that do not fix their own (training and forward
    /// passes do: `threads` in [train] and [activations]). Never part of a key. Default:
    /// cores / --jobs.
    #[arg(long, global = true)]
    pub(crate) threads: Option<usize>,
    /// Print only errors and the final summary.
    #[arg(long, short, global = true)]
    pub(crate) quiet: bool,
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Subcommand)]
pub(crate) enum Command {
    /// Run stages (default: all) and whatever they need that is missing or stale.
    Run(RunArgs),
    /// Show every stage with its fresh / stale / pending / missing units, and why.
    Status(StatusArgs),
    /// The current run as a zip a colleague can open without repro: the report, figures,
    /// analysis tables, every manifest, the configuration and ro-crate-metadata.json
    /// (Workflow Run Crate).
    Export {
        /// The zip to write (default: repro-export-PROFILE.zip).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Include the activation files (hundreds of MB each).
        #[arg(long)]
        with_activations: bool,
        /// Include every network's weights.
        #[arg(long)]
        with_weights: bool,
    },
    /// What changed between two recorded reports (default: the previous and the latest):
    /// parameters, claims, metrics that moved, figures whose data changed.
    Diff {
        /// The older report: a profile (its latest report), `default`, or a key prefix.
        old: Option<String>,
        /// The newer report (default: the latest).
        new: Option<String>,
        /// Output format.
        #[arg(long, value_enum, default_value = "text")]
        format: commands::diff::Format,
        /// Shorthand for --format md.
        #[arg(long, conflicts_with_all = ["format", "json"])]
        md: bool,
        /// Shorthand for --format json.
        #[arg(long, conflicts_with = "format")]
        json: bool,
        /// Shorthand for --format html: a page with the changed figures drawn old (dashed)
        /// over new (`repro diff --html > diff.html`).
        #[arg(long, conflicts_with_all = ["format", "json", "md"])]
        html: bool,
        /// A metric counts as moved when it changes by more than this fraction of its value.
        #[arg(long, default_value_t = repro::review::diff::DEFAULT_TOLERANCE)]
        tolerance: f64,
        /// List the recorded reports instead.
        #[arg(long)]
        list: bool,
    },
    /// Every recorded report as a row: when, name, profile, the parameters that differ
    /// from the default configuration, claim verdict counts and the median test error per
    /// dataset.
    Runs {
        /// Output format.
        #[arg(long, value_enum, default_value = "text")]
        format: commands::runs::Format,
        /// Sort by this column: time, name, profile, reproduced, not_reproduced,
        /// not_measured, test_error.
        #[arg(long, default_value = "time")]
        sort: String,
        /// Write to this file instead of stdout.
        #[arg(long)]
        out: Option<std::path::PathBuf>,
    },
    /// Upload committed cache entries to the remote cache ([remote] in pipeline.toml):
    /// files by SHA-256 (each stored once), each entry's manifest last.
    Push {
        /// Stages whose entries to push (default: all).
        #[arg(value_name = "STAGE")]
        stages: Vec<String>,
        /// Which remote ([remotes.NAME]; default [remote]).
        #[arg(long)]
        remote: Option<String>,
    },
    /// Download what the current plan needs and the cache lacks from the remote cache,
    /// checking every file's SHA-256, committing each entry as a local run would.
    Pull {
        /// Stages whose entries to pull (default: all).
        #[arg(value_name = "STAGE")]
        stages: Vec<String>,
        /// Which remote ([remotes.NAME]; default [remote]).
        #[arg(long)]
        remote: Option<String>,
    },
    /// Draw the stage graph from stages/*.toml.
    Dag {
        /// Print Graphviz dot instead of text.
        #[arg(long)]
        dot: bool,
    },
    /// Delete cache entries that neither the configuration, any of its profiles, queued Slurm
    /// jobs nor the last recorded reports (with everything they were made from) use; asks first.
    Gc {
        /// Only list what would be deleted, with sizes and the unit time it represents.
        #[arg(long)]
        dry_run: bool,
        /// Delete without asking (needed where stdin is not a terminal).
        #[arg(long, short = 'y')]
        yes: bool,
    },
    /// Re-hash every cached output against its manifest; name corrupted or truncated files.
    Verify,
    /// Recompute cached units in a scratch folder and compare every output's SHA-256 with
    /// its manifest: lists each unit whose bytes differ (it is not deterministic).
    Audit {
        /// Stages to audit (default: all).
        #[arg(value_name = "STAGE")]
        stages: Vec<String>,
        /// At most this many units per stage (a repeatable choice), instead of all.
        #[arg(long, value_name = "N")]
        sample: Option<usize>,
    },
    /// After a change that alters a stage's keys but (you expect) not its bytes: recompute
    /// N of its units under the new code, and if every output is identical, re-key the
    /// rest of its entries instead of rerunning them (recorded as adopted). Refuses, naming
    /// the unit, on any difference.
    Adopt {
        /// The stage whose entries to adopt.
        stage: String,
        /// How many units to recompute as evidence.
        #[arg(long, default_value_t = 2)]
        sample: usize,
    },
    /// Run exactly one unit (its inputs must be cached) and commit it; what worker
    /// processes and Slurm tasks run. Exit 0 when the unit is cached afterwards.
    RunUnit(RunUnitArgs),
}

#[derive(Args)]
pub(crate) struct StatusArgs {
    /// Explain one unit (`stage/id`): its key's ingredients, the files behind its code
    /// fingerprint, its inputs' content digests.
    #[arg(long, value_name = "UNIT")]
    pub(crate) explain: Option<String>,
    /// Where the time went: per stage, the cached units' span, summed time, slowest unit,
    /// machines and devices.
    #[arg(long, conflicts_with = "explain")]
    pub(crate) timings: bool,
    /// Every cached unit this configuration uses as CSV, one line each: stage, unit, key,
    /// start, end, seconds, CPU seconds, peak memory (MiB), machine and device (to FILE,
    /// or `-` for stdout).
    #[arg(long, value_name = "FILE", conflicts_with_all = ["explain", "timings"])]
    pub(crate) trace: Option<std::path::PathBuf>,
    /// Which of the units that would run the remote cache holds ([remote], or the one
    /// named: `--remote NAME`).
    #[arg(long, value_name = "NAME", num_args = 0..=1, default_missing_value = "", conflicts_with_all = ["explain", "timings"])]
    pub(crate) remote: Option<String>,
}

#[derive(Args)]
pub(crate) struct RunUnitArgs {
    /// The stage, e.g. `train`.
    pub(crate) stage: String,
    /// The unit id, as `repro run --dry-run` lists it after the stage name.
    pub(crate) unit: String,
    /// Refuse unless this process computes the unit under exactly this key.
    #[arg(long, value_name = "KEY")]
    pub(crate) expect_key: Option<String>,
    /// Refuse unless the unit's recipe (its key without input contents) is this one.
    #[arg(long, value_name = "RECIPE")]
    pub(crate) expect_recipe: Option<String>,
    /// The run this unit belongs to (recorded in its manifest).
    #[arg(long, value_name = "ID")]
    pub(crate) run_id: Option<String>,
    /// Run even if the unit is cached.
    #[arg(long)]
    pub(crate) force: bool,
    /// Write the unit's progress as `repro-progress ...` lines on stderr, for the driver
    /// that started this worker to show.
    #[arg(long, hide = true)]
    pub(crate) relay_progress: bool,
}

#[derive(Args)]
pub(crate) struct RunArgs {
    /// Stages to bring up to date: `all` or stage names (data, train, ...).
    #[arg(value_name = "STAGE")]
    pub(crate) targets: Vec<String>,
    /// Run every unit of this stage again even if cached (repeatable).
    #[arg(long, value_name = "STAGE")]
    pub(crate) force: Vec<String>,
    /// Show what would run and why (parameter changed, code changed, input changed,
    /// missing), then stop.
    #[arg(long)]
    pub(crate) dry_run: bool,
    /// Keep running independent units after a failure; the exit code is still non-zero.
    #[arg(long)]
    pub(crate) keep_going: bool,
    /// A name for this run's report in `repro runs` (and for `repro diff NAME`), e.g. for
    /// a `--set` variant.
    #[arg(long)]
    pub(crate) name: Option<String>,
    /// Units run at the same time (above 1, each in a worker process).
    #[arg(long, short, default_value_t = 1)]
    pub(crate) jobs: usize,
    /// Where units run: `local` (this process, --jobs at a time) or `slurm` (one job array
    /// per stage; options in [executor.slurm]). Default: [executor] kind, else local.
    #[arg(long, value_parser = ["local", "slurm"])]
    pub(crate) executor: Option<String>,
    /// With --executor slurm: cancel the submitted jobs on Ctrl-C (default: leave them
    /// running; a later `repro run` follows them instead of resubmitting).
    #[arg(long)]
    pub(crate) cancel_on_interrupt: bool,
    /// Keep the outputs of recomputable stages (activation files) instead of dropping
    /// them once every unit that reads them is done; dropped ones of the target stages
    /// are regenerated.
    #[arg(long)]
    pub(crate) keep: bool,
    /// Before computing a unit, download it from the remote cache if it is there
    /// (default: [remote] pull = true). Local executor only.
    #[arg(long)]
    pub(crate) pull: bool,
    /// The remote for --pull ([remotes.NAME]; default [remote]).
    #[arg(long)]
    pub(crate) remote: Option<String>,
}
