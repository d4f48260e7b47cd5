//! The command-line edge: parse arguments, call the library, print results, set the exit
//! code. Errors go to stderr; a run always ends with a one-line summary.

use anyhow::{Context, Result};
use clap::{Args, Parser, Subcommand};
use repro::engine::cache::{read_manifest_at, tree_size};
use repro::engine::lock::CacheLock;
use repro::engine::progress::reporter_for_stderr;
use repro::engine::runner::{run_unit, Executor, InProcess, RunOptions, UnitResult};
use repro::engine::slurm::{in_flight, SlurmExecutor};
use repro::engine::Status;
use repro::project::{OpenOptions, Project, ProjectError};
use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

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
    /// Local dataset mirror folder, tried before the canonical URLs (repeatable; also
    /// REPRO_DATA_MIRROR, colon-separated).
    #[arg(long = "data-mirror", global = true, value_name = "DIR")]
    data_mirror: Vec<PathBuf>,
    /// Where networks train and run: auto (CUDA when libtorch sees a GPU), cpu or cuda.
    #[arg(long, global = true, default_value = "auto", env = "REPRO_DEVICE")]
    device: String,
    /// Threads per unit for libtorch's intra-op work (default: cores / --jobs). Workers and
    /// Slurm tasks get the same value, so results match a single-process run.
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
    /// Show every stage with its fresh / stale / missing units, and why.
    Status,
    /// Draw the stage graph from stages/*.toml.
    Dag {
        /// Print Graphviz dot instead of text.
        #[arg(long)]
        dot: bool,
    },
    /// Delete cache entries that neither the configuration nor any of its profiles uses.
    Gc {
        /// Only list what would be deleted, with sizes.
        #[arg(long)]
        dry_run: bool,
    },
    /// Re-hash every cached output against its manifest; name corrupted or truncated files.
    Verify,
    /// Run exactly one unit (its inputs must be cached) and commit it; what each Slurm
    /// task runs. Exit 0 when the unit is cached afterwards.
    RunUnit {
        /// The stage, e.g. `train`.
        stage: String,
        /// The unit id, as `repro run --dry-run` lists it after the stage name.
        unit: String,
    },
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
    let project = Project::open(&OpenOptions {
        config: cli.config.clone(),
        profile: cli.profile.clone(),
        data_mirrors: mirrors,
        device: repro::model::pick_device(&cli.device).map_err(|e| anyhow::anyhow!(e))?,
    })?;
    let jobs = match &cli.command {
        Command::Run(a) => a.jobs.max(1),
        _ => 1,
    };
    let threads = cli
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()) / jobs)
        .max(1);
    tch::set_num_threads(threads as i32);
    let launcher = launcher(&cli, &project, threads);
    match cli.command {
        Command::Run(args) => run(&project, args, cli.quiet, launcher),
        Command::Status => status(&project),
        Command::Dag { dot } => {
            dag(&project, dot);
            Ok(ExitCode::SUCCESS)
        }
        Command::Gc { dry_run } => gc(&project, dry_run),
        Command::Verify => verify(&project, cli.quiet),
        Command::RunUnit { stage, unit } => run_one(&project, &stage, &unit, cli.quiet),
    }
}

/// The command a Slurm task runs: this binary with this project's options.
fn launcher(cli: &Cli, project: &Project, threads: usize) -> Vec<String> {
    let mut l = vec![
        std::env::current_exe()
            .map(|p| p.display().to_string())
            .unwrap_or_else(|_| "repro".into()),
        "--config".into(),
        project.config.file.display().to_string(),
        "--device".into(),
        cli.device.clone(),
        "--threads".into(),
        threads.to_string(),
        "--quiet".into(),
    ];
    if let Some(p) = &cli.profile {
        l.extend(["--profile".into(), p.clone()]);
    }
    for m in &cli.data_mirror {
        let abs = std::path::absolute(m).unwrap_or_else(|_| m.clone());
        l.extend(["--data-mirror".into(), abs.display().to_string()]);
    }
    l
}

fn run(project: &Project, args: RunArgs, quiet: bool, launcher: Vec<String>) -> Result<ExitCode> {
    let clock = Instant::now();
    let targets = project.resolve_targets(&args.targets)?;
    let forced = project.resolve_targets(&args.force).map(|f| {
        if args.force.is_empty() {
            BTreeSet::new()
        } else {
            f
        }
    })?;
    let jobs = args.jobs.max(1);

    if args.dry_run {
        let plan = project.plan(&forced)?;
        let to_run = plan.to_run(&targets);
        println!("would run {} unit(s):", to_run.len());
        for &i in &to_run {
            let u = &plan.units[i];
            if let Status::Run(reasons) = &u.status {
                let text: Vec<String> = reasons.iter().map(ToString::to_string).collect();
                println!("  {:<40} {}", u.unit.to_string(), text.join("; "));
            }
        }
        return Ok(ExitCode::SUCCESS);
    }

    let _lock = CacheLock::acquire(project.cache.root(), |holder| {
        eprintln!("waiting for the cache lock held by {holder} ...");
    })?;
    project.cache.clean_dead_staging()?;
    // Plan only once the lock is held: another process may just have filled the cache.
    let plan = project.plan(&forced)?;
    let to_run = plan.to_run(&targets);
    let reused = plan
        .closure(&targets)
        .into_iter()
        .filter(|&i| plan.units[i].status == Status::Fresh)
        .count();
    let reporter = reporter_for_stderr(quiet);
    let kind = args
        .executor
        .clone()
        .or_else(|| project.config.executor.kind.clone())
        .unwrap_or_else(|| "local".into());
    let executor: Box<dyn Executor> = if kind == "slurm" {
        Box::new(SlurmExecutor {
            launcher,
            options: project.config.executor.slurm.clone(),
            cancel_on_interrupt: args.cancel_on_interrupt,
            poll: std::time::Duration::from_millis(500),
        })
    } else {
        // One unit at a time runs in this process (with its progress bar); several at a
        // time run as worker processes.
        let workers = (jobs > 1).then_some(launcher);
        Box::new(InProcess { jobs, workers })
    };
    // Slurm tasks take no lock of their own: the driver keeps it until they are done.
    let report = executor.execute(
        &project.stages,
        &plan,
        &to_run,
        &project.cache,
        &RunOptions {
            keep_going: args.keep_going,
            tool_version: env!("CARGO_PKG_VERSION").to_string(),
        },
        reporter.as_ref(),
    );
    let done = report.count(|r| matches!(r, UnitResult::Done(_)));
    let skipped = report.count(|r| matches!(r, UnitResult::Skipped(_)));
    let failed = report.failed();
    for (unit, result) in &report.results {
        if let UnitResult::Failed(e) = result {
            eprintln!("error: {unit} failed: {e}");
        }
    }
    for dir in project.publish(&plan).context("publishing outputs")? {
        if let Some(html) = [dir.join("report.html"), dir.join("report.md")]
            .iter()
            .find(|p| p.exists())
        {
            eprintln!("report: {}", html.display());
            if let Some(md) = Some(dir.join("report.md")).filter(|p| p.exists() && p != html) {
                eprintln!("        {}", md.display());
            }
        } else {
            eprintln!("published: {}", dir.display());
        }
    }
    eprintln!(
        "repro: {done} unit(s) run, {reused} reused, {failed} failed{} in {:.2}s",
        if skipped > 0 {
            format!(", {skipped} skipped")
        } else {
            String::new()
        },
        clock.elapsed().as_secs_f64()
    );
    Ok(if failed > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

fn run_one(project: &Project, stage: &str, unit: &str, quiet: bool) -> Result<ExitCode> {
    let plan = project.plan(&BTreeSet::new())?;
    let Some(i) = plan
        .units
        .iter()
        .position(|u| u.unit.stage == stage && u.unit.id == unit)
    else {
        anyhow::bail!("no unit `{unit}` in stage `{stage}` for this configuration (see `repro run --dry-run`)");
    };
    let planned = &plan.units[i];
    if planned.status == Status::Fresh {
        eprintln!("{} is already cached", planned.unit);
        return Ok(ExitCode::SUCCESS);
    }
    let mut inputs = std::collections::BTreeMap::new();
    for &d in &planned.deps {
        let u = &plan.units[d];
        if u.status != Status::Fresh {
            anyhow::bail!("input {} of {} is not in the cache", u.unit, planned.unit);
        }
        inputs.insert(
            u.unit.clone(),
            project.cache.entry_dir(&u.unit.stage, &u.key),
        );
    }
    let node = project
        .stages
        .iter()
        .find(|s| s.meta.name == stage)
        .expect("planned stage exists");
    let reporter = reporter_for_stderr(quiet);
    let progress = reporter.unit_started(&planned.unit);
    let options = RunOptions {
        keep_going: false,
        tool_version: env!("CARGO_PKG_VERSION").to_string(),
    };
    match run_unit(
        node,
        planned,
        &inputs,
        &project.cache,
        &options,
        progress.as_ref(),
    ) {
        Ok(d) => {
            eprintln!("{} done in {:.1}s", planned.unit, d.as_secs_f64());
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            eprintln!("error: {} failed: {e}", planned.unit);
            Ok(ExitCode::FAILURE)
        }
    }
}

fn status(project: &Project) -> Result<ExitCode> {
    let plan = project.plan(&BTreeSet::new())?;
    println!(
        "{:<14} {:>6} {:>6} {:>8}",
        "stage", "fresh", "stale", "missing"
    );
    let mut explanations = Vec::new();
    for stage in &plan.stage_order {
        let (mut fresh, mut stale, mut missing) = (0, 0, 0);
        for u in plan.units.iter().filter(|u| &u.unit.stage == stage) {
            match &u.status {
                Status::Fresh => fresh += 1,
                Status::Run(reasons) => {
                    let never = reasons.iter().all(|r| {
                        matches!(
                            r,
                            repro::engine::Reason::NeverBuilt | repro::engine::Reason::EntryMissing
                        )
                    });
                    if never {
                        missing += 1;
                    } else {
                        stale += 1;
                    }
                    let text: Vec<String> = reasons.iter().map(ToString::to_string).collect();
                    explanations.push(format!("  {:<40} {}", u.unit.to_string(), text.join("; ")));
                }
            }
        }
        println!("{stage:<14} {fresh:>6} {stale:>6} {missing:>8}");
    }
    let queued = in_flight(&project.cache);
    if !queued.is_empty() {
        println!("\non the cluster:");
        for (unit, job, state) in queued {
            println!("  {unit:<40} job {job} {state}");
        }
    }
    if !explanations.is_empty() {
        println!("\nnot fresh:");
        for e in explanations {
            println!("{e}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn dag(project: &Project, dot: bool) {
    if dot {
        println!("digraph repro {{\n  rankdir=LR;\n  node [shape=box];");
        for s in &project.stages {
            println!(
                "  \"{}\" [tooltip=\"{}\"];",
                s.meta.name,
                s.meta.description.replace('"', "'")
            );
            for n in &s.meta.needs {
                println!("  \"{n}\" -> \"{}\";", s.meta.name);
            }
        }
        println!("}}");
        return;
    }
    for s in &project.stages {
        let needs = if s.meta.needs.is_empty() {
            "(source)".to_string()
        } else {
            format!("<- {}", s.meta.needs.join(", "))
        };
        println!(
            "{:<14} {:<28} v{}  {}",
            s.meta.name, needs, s.meta.version, s.meta.description
        );
    }
}

fn gc(project: &Project, dry_run: bool) -> Result<ExitCode> {
    let keep = project.referenced_by_any_profile()?;
    let _lock = if dry_run {
        None
    } else {
        Some(CacheLock::acquire(project.cache.root(), |h| {
            eprintln!("waiting for the cache lock held by {h} ...")
        })?)
    };
    let mut freed = 0u64;
    let mut count = 0usize;
    for (stage, key, dir) in project.cache.entries()? {
        if keep.contains(&(stage.clone(), key.clone())) {
            continue;
        }
        let size = tree_size(&dir);
        let unit = read_manifest_at(&dir)
            .map(|m| m.ingredients.unit)
            .unwrap_or_default();
        println!(
            "{} {stage}/{unit} {key} ({})",
            if dry_run { "would delete" } else { "deleted" },
            human(size)
        );
        if !dry_run {
            std::fs::remove_dir_all(&dir).with_context(|| format!("deleting {}", dir.display()))?;
        }
        freed += size;
        count += 1;
    }
    if !dry_run {
        project.cache.clean_dead_staging()?;
    }
    println!(
        "{} {count} entr{} ({})",
        if dry_run { "would free" } else { "freed" },
        if count == 1 { "y" } else { "ies" },
        human(freed)
    );
    Ok(ExitCode::SUCCESS)
}

fn verify(project: &Project, quiet: bool) -> Result<ExitCode> {
    let _lock = CacheLock::acquire(project.cache.root(), |h| {
        eprintln!("waiting for the cache lock held by {h} ...")
    })?;
    let (entries, problems) = project.cache.verify(|dir| {
        if !quiet {
            eprintln!("checking {}", dir.display());
        }
    })?;
    for p in &problems {
        println!("{}: {}: {}", p.entry.display(), p.file, p.problem);
    }
    println!(
        "verified {entries} entr{}: {} problem(s)",
        if entries == 1 { "y" } else { "ies" },
        problems.len()
    );
    Ok(if problems.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn human(bytes: u64) -> String {
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
