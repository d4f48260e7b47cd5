//! The command-line edge: parse arguments, call the library, print results, set the exit
//! code. Errors go to stderr; a run always ends with a one-line summary.

mod commands;

use anyhow::Result;
use clap::{Args, Parser, Subcommand};
use repro::project::{OpenOptions, Project, ProjectError};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "repro",
    version,
    about = "Regenerate \"DNNs as Layers of Cooperating Classifiers\" from raw data to a report",
    long_about = "Regenerate \"DNNs as Layers of Cooperating Classifiers\" (Davel et al., 2020) \
from raw data to a report. Every stage is split into units that are cached by a SHA-256 of \
their code, parameters and inputs: only what a change touches runs again."
)]
struct Cli {
    /// The experiment file; stage declarations and the cache are found relative to it.
    #[arg(
        long,
        global = true,
        default_value = "pipeline.toml",
        env = "REPRO_CONFIG"
    )]
    config: PathBuf,
    /// A named profile of pipeline.toml laid over the defaults (e.g. `quick`).
    #[arg(long, global = true, env = "REPRO_PROFILE")]
    profile: Option<String>,
    /// Change one value of pipeline.toml for this command: a dotted key and a TOML value
    /// (`--set train.lr=0.003`; a bare word is a string). Repeatable; validated like the
    /// file, and part of the keys like any value of it.
    #[arg(long = "set", global = true, value_name = "KEY=VALUE")]
    sets: Vec<String>,
    /// Local dataset mirror folder, tried before the canonical URLs (repeatable; also
    /// REPRO_DATA_MIRROR, colon-separated).
    #[arg(long = "data-mirror", global = true, value_name = "DIR")]
    data_mirror: Vec<PathBuf>,
    /// Where networks train and run: auto (CUDA when libtorch sees a GPU), cpu or cuda.
    #[arg(long, global = true, default_value = "auto", env = "REPRO_DEVICE")]
    device: String,
    /// Threads per unit for work whose results do not depend on the count: the analysis
    /// kernels, and libtorch in stages that do not fix their own (training and forward
    /// passes do: `threads` in [train] and [activations]). Never part of a key. Default:
    /// cores / --jobs.
    #[arg(long, global = true)]
    threads: Option<usize>,
    /// Print only errors and the final summary.
    #[arg(long, short, global = true)]
    quiet: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
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
struct StatusArgs {
    /// Explain one unit (`stage/id`): its key's ingredients, the files behind its code
    /// fingerprint, its inputs' content digests.
    #[arg(long, value_name = "UNIT")]
    explain: Option<String>,
    /// Where the time went: per stage, the cached units' span, summed time, slowest unit,
    /// machines and devices.
    #[arg(long, conflicts_with = "explain")]
    timings: bool,
    /// Every cached unit this configuration uses as CSV, one line each: stage, unit, key,
    /// start, end, seconds, CPU seconds, peak memory (MiB), machine and device (to FILE,
    /// or `-` for stdout).
    #[arg(long, value_name = "FILE", conflicts_with_all = ["explain", "timings"])]
    trace: Option<std::path::PathBuf>,
    /// Which of the units that would run the remote cache holds ([remote], or the one
    /// named: `--remote NAME`).
    #[arg(long, value_name = "NAME", num_args = 0..=1, default_missing_value = "", conflicts_with_all = ["explain", "timings"])]
    remote: Option<String>,
}

#[derive(Args)]
struct RunUnitArgs {
    /// The stage, e.g. `train`.
    stage: String,
    /// The unit id, as `repro run --dry-run` lists it after the stage name.
    unit: String,
    /// Refuse unless this process computes the unit under exactly this key.
    #[arg(long, value_name = "KEY")]
    expect_key: Option<String>,
    /// Refuse unless the unit's recipe (its key without input contents) is this one.
    #[arg(long, value_name = "RECIPE")]
    expect_recipe: Option<String>,
    /// The run this unit belongs to (recorded in its manifest).
    #[arg(long, value_name = "ID")]
    run_id: Option<String>,
    /// Run even if the unit is cached.
    #[arg(long)]
    force: bool,
    /// Write the unit's progress as `repro-progress ...` lines on stderr, for the driver
    /// that started this worker to show.
    #[arg(long, hide = true)]
    relay_progress: bool,
}

#[derive(Args)]
struct RunArgs {
    /// Stages to bring up to date: `all` or stage names (data, train, ...).
    #[arg(value_name = "STAGE")]
    targets: Vec<String>,
    /// Run every unit of this stage again even if cached (repeatable).
    #[arg(long, value_name = "STAGE")]
    force: Vec<String>,
    /// Show what would run and why (parameter changed, code changed, input changed,
    /// missing), then stop.
    #[arg(long)]
    dry_run: bool,
    /// Keep running independent units after a failure; the exit code is still non-zero.
    #[arg(long)]
    keep_going: bool,
    /// A name for this run's report in `repro runs` (and for `repro diff NAME`), e.g. for
    /// a `--set` variant.
    #[arg(long)]
    name: Option<String>,
    /// Units run at the same time (above 1, each in a worker process).
    #[arg(long, short, default_value_t = 1)]
    jobs: usize,
    /// Where units run: `local` (this process, --jobs at a time) or `slurm` (one job array
    /// per stage; options in [executor.slurm]). Default: [executor] kind, else local.
    #[arg(long, value_parser = ["local", "slurm"])]
    executor: Option<String>,
    /// With --executor slurm: cancel the submitted jobs on Ctrl-C (default: leave them
    /// running; a later `repro run` follows them instead of resubmitting).
    #[arg(long)]
    cancel_on_interrupt: bool,
    /// Keep the outputs of recomputable stages (activation files) instead of dropping
    /// them once every unit that reads them is done; dropped ones of the target stages
    /// are regenerated.
    #[arg(long)]
    keep: bool,
    /// Before computing a unit, download it from the remote cache if it is there
    /// (default: [remote] pull = true). Local executor only.
    #[arg(long)]
    pull: bool,
    /// The remote for --pull ([remotes.NAME]; default [remote]).
    #[arg(long)]
    remote: Option<String>,
}

fn main() -> ExitCode {
    // Die quietly on a closed pipe (`repro status | head`), as command-line tools do.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    openmp::ensure_passive_wait();
    let cli = Cli::parse();
    match dispatch(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            // Configuration and usage problems (nothing ran) exit 2, like clap's own.
            let config_problem = e
                .downcast_ref::<ProjectError>()
                .is_some_and(|p| !matches!(p, ProjectError::Cache(_)));
            ExitCode::from(if config_problem { 2 } else { 1 })
        }
    }
}

fn dispatch(cli: Cli) -> Result<ExitCode> {
    let mut mirrors = cli.data_mirror.clone();
    if let Some(env) = std::env::var_os("REPRO_DATA_MIRROR") {
        mirrors.extend(std::env::split_paths(&env).filter(|p| !p.as_os_str().is_empty()));
    }
    let open = |device: tch::Device| {
        Project::open(&OpenOptions {
            config: cli.config.clone(),
            profile: cli.profile.clone(),
            overrides: cli.sets.clone(),
            data_mirrors: mirrors.clone(),
            device,
        })
    };
    // The device is decided for where units run. Slurm tasks run on nodes the planning
    // host may not resemble (no GPU here, GPUs there): the configuration decides it, and
    // each task checks it (see `device_for`).
    let provisional = open(tch::Device::Cpu)?;
    // A task (`run-unit`) checks the device on its own node, whatever the executor.
    let slurm = !matches!(cli.command, Command::RunUnit(_))
        && match &cli.command {
            Command::Run(a) => a.executor.as_deref(),
            _ => None,
        }
        .or(provisional.config.executor.kind.as_deref())
            == Some("slurm");
    let device = device_for(&cli.device, slurm, &provisional.config.executor.slurm)?;
    let project = if device == tch::Device::Cpu {
        provisional
    } else {
        open(device)?
    };
    let jobs = match &cli.command {
        Command::Run(a) => a.jobs.max(1),
        _ => 1,
    };
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let threads = unit_threads(
        cli.threads,
        std::env::var("SLURM_CPUS_PER_TASK").ok().as_deref(),
        cores,
        jobs,
    );
    tch::set_num_threads(threads as i32);
    // Analysis kernels give the same numbers on any number of threads (tested there).
    let _ = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build_global();
    // Local workers share this machine's cores: each is told its share. A Slurm task
    // takes what Slurm allocated it, unless --threads was given.
    let base = launcher(&cli, &project, device);
    let with_threads = |mut l: Vec<String>| {
        l.extend(["--threads".to_string(), threads.to_string()]);
        l
    };
    let launcher = commands::run::Launchers {
        local: with_threads(base.clone()),
        slurm: if cli.threads.is_some() {
            with_threads(base)
        } else {
            base
        },
    };
    match cli.command {
        Command::Run(args) => commands::run::run(&project, args, cli.quiet, launcher),
        Command::Status(args) => match args.explain {
            Some(unit) => commands::status::explain(&project, &unit),
            None if args.remote.is_some() => {
                let name = args.remote.as_deref().filter(|n| !n.is_empty());
                commands::remote::status_on_remote(&project, name)
            }
            None if args.timings => commands::status::timings(&project),
            None if args.trace.is_some() => {
                commands::status::trace(&project, args.trace.as_deref().expect("checked"))
            }
            None => commands::status::status(&project),
        },
        Command::Diff {
            old,
            new,
            format,
            md,
            json,
            html,
            tolerance,
            list,
        } => {
            let format = if html {
                commands::diff::Format::Html
            } else if md {
                commands::diff::Format::Md
            } else if json {
                commands::diff::Format::Json
            } else {
                format
            };
            commands::diff::diff(
                &project,
                old.as_deref(),
                new.as_deref(),
                format,
                tolerance,
                list,
            )
        }
        Command::Export {
            out,
            with_activations,
            with_weights,
        } => commands::export::export(
            &project,
            &commands::export::ExportArgs {
                out,
                with_activations,
                with_weights,
            },
        ),
        Command::Push { stages, remote } => {
            commands::remote::push(&project, &stages, remote.as_deref(), cli.quiet)
        }
        Command::Pull { stages, remote } => {
            commands::remote::pull(&project, &stages, remote.as_deref(), cli.quiet)
        }
        Command::Dag { dot } => {
            commands::status::dag(&project, dot);
            Ok(ExitCode::SUCCESS)
        }
        Command::Runs { format, sort, out } => {
            commands::runs::runs(&project, format, &sort, out.as_deref())
        }
        Command::Gc { dry_run, yes } => commands::gc::gc(&project, dry_run, yes),
        Command::Verify => commands::maintain::verify(&project, cli.quiet),
        Command::Adopt { stage, sample } => {
            commands::adopt::adopt(&project, &stage, sample, cli.quiet)
        }
        Command::Audit { stages, sample } => {
            commands::maintain::audit(&project, &stages, sample, cli.quiet)
        }
        Command::RunUnit(args) => commands::run::run_one(&project, &args, cli.quiet),
    }
}

/// The command a Slurm task runs: this binary with this project's options.
/// The device units compute on. Locally, `--device` as given (`auto`: CUDA if libtorch
/// sees a GPU here). With the Slurm executor, `auto` means the nodes' device from
/// `[executor.slurm]` (`device`, or a GPU `gres`), and `cuda` is not checked here but by
/// each task on its node. `REPRO_ASSUME_CUDA=1` lets a task pass that check without a GPU
/// (the tests' stand-in for a GPU node; only stages that never touch the device may run).
fn device_for(
    choice: &str,
    slurm: bool,
    options: &repro::engine::slurm::SlurmOptions,
) -> Result<tch::Device> {
    let assumed = std::env::var_os("REPRO_ASSUME_CUDA").is_some_and(|v| v == "1");
    let choice = if slurm && choice == "auto" {
        options.node_device().map_err(|e| anyhow::anyhow!(e))?
    } else {
        choice
    };
    if choice == "cuda" && (slurm || assumed) {
        return Ok(tch::Device::Cuda(0));
    }
    repro::model::pick_device(choice).map_err(|e| anyhow::anyhow!(e))
}

/// Threads per unit for work whose results do not depend on the count: `--threads` if
/// given; inside a Slurm task, the CPUs Slurm allocated it (`SLURM_CPUS_PER_TASK`);
/// otherwise this machine's cores shared among `jobs`.
fn unit_threads(
    explicit: Option<usize>,
    slurm_cpus: Option<&str>,
    cores: usize,
    jobs: usize,
) -> usize {
    explicit
        .or_else(|| slurm_cpus.and_then(|s| s.trim().parse().ok()))
        .unwrap_or(cores / jobs.max(1))
        .max(1)
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_slurm_task_uses_its_allocation_unless_threads_are_given() {
        use super::unit_threads;
        assert_eq!(unit_threads(None, Some("6"), 64, 1), 6);
        assert_eq!(unit_threads(Some(2), Some("6"), 64, 1), 2);
        assert_eq!(unit_threads(None, None, 16, 4), 4);
        assert_eq!(unit_threads(None, Some("x"), 16, 4), 4);
        assert_eq!(unit_threads(None, None, 2, 4), 1);
    }
}

fn launcher(cli: &Cli, project: &Project, device: tch::Device) -> Vec<String> {
    let mut l = vec![
        std::env::current_exe()
            .map(|p| p.display().to_string())
            .unwrap_or_else(|_| "repro".into()),
        "--config".into(),
        project.config.file.display().to_string(),
        "--device".into(),
        // The device decided here, not `auto`: a task must not decide again on its node.
        repro::model::device_name(device).replace(":0", ""),
        "--quiet".into(),
    ];
    if let Some(p) = &cli.profile {
        l.extend(["--profile".into(), p.clone()]);
    }
    for s in &cli.sets {
        l.extend(["--set".into(), s.clone()]);
    }
    for m in &cli.data_mirror {
        let abs = std::path::absolute(m).unwrap_or_else(|_| m.clone());
        l.extend(["--data-mirror".into(), abs.display().to_string()]);
    }
    l
}

pub(crate) fn human(bytes: u64) -> String {
    match bytes {
        b if b >= 1 << 30 => format!("{:.1} GiB", b as f64 / (1u64 << 30) as f64),
        b if b >= 1 << 20 => format!("{:.1} MiB", b as f64 / (1u64 << 20) as f64),
        b if b >= 1 << 10 => format!("{:.1} KiB", b as f64 / 1024.0),
        b => format!("{b} B"),
    }
}

mod openmp {
    //! libgomp (loaded with libtorch, before `main`) reads OMP_WAIT_POLICY once at load
    //! time. Its default spin-waiting slowed training 10-30x on a busy 2-core machine, and
    //! setting the variable from inside the process is too late; so if it is unset, repro
    //! re-executes itself once with OMP_WAIT_POLICY=PASSIVE. A value set by the user wins.
    use std::os::unix::process::CommandExt;

    pub fn ensure_passive_wait() {
        if std::env::var_os("OMP_WAIT_POLICY").is_some() {
            return;
        }
        let Ok(exe) = std::env::current_exe() else {
            return;
        };
        let mut args = std::env::args_os();
        let arg0 = args.next().unwrap_or_default();
        let err = std::process::Command::new(exe)
            .arg0(arg0)
            .args(args)
            .env("OMP_WAIT_POLICY", "PASSIVE")
            .exec();
        // exec only returns on failure: carry on, merely slower.
        eprintln!("warning: could not re-execute with OMP_WAIT_POLICY=PASSIVE: {err}");
    }
}
