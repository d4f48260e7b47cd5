//! The command-line edge: parse arguments, call the library, print results, set the exit
//! code. Errors go to stderr; a run always ends with a one-line summary.

mod cli;
mod commands;

use cli::{Cli, Command};
pub(crate) use cli::{RunArgs, RunUnitArgs};

use anyhow::{anyhow, Result};
use clap::Parser;
use repro::project::{OpenOptions, Project, ProjectError};
use repro::stages::Devices;
use std::process::ExitCode;

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
    let open = |devices: &Devices| {
        Project::open(&OpenOptions {
            config: cli.config.clone(),
            profile: cli.profile.clone(),
            overrides: cli.sets.clone(),
            data_mirrors: mirrors.clone(),
            devices: devices.clone(),
        })
    };
    // The device is decided for where units run. Slurm tasks run on nodes the planning
    // host may not resemble (no GPU here, GPUs there): the configuration decides it, per
    // stage, and each task checks its own stage's (see `devices_for`).
    let cpu = Devices::all(tch::Device::Cpu);
    let provisional = open(&cpu)?;
    // A task (`run-unit`) checks the device on its own node, whatever the executor.
    let slurm = !matches!(cli.command, Command::RunUnit(_))
        && match &cli.command {
            Command::Run(a) => a.executor.as_deref(),
            _ => None,
        }
        .or(provisional.config.executor.kind.as_deref())
            == Some("slurm");
    let devices = devices_for(&cli, slurm, &provisional.config.executor.slurm)?;
    let project = if devices == cpu {
        provisional
    } else {
        open(&devices)?
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
    let base = launcher(&cli, &project, &devices);
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

/// The devices units compute on, per stage. Locally, `--device` as given for every stage
/// (`auto`: CUDA if libtorch sees a GPU here). With the Slurm executor, `auto` means each
/// stage's nodes' device from `[executor.slurm]` (a stage's `device` or GPU `gres`, else the
/// top level's), and `cuda` is not checked here but by each task on its node. A task
/// (`run-unit`) gets `--device` and `--stage-device` from the planner and checks only its
/// own stage's: an analysis task on a CPU node must not fail for training's GPU.
/// `REPRO_ASSUME_CUDA=1` lets a task pass that check without a GPU (the tests' stand-in for
/// a GPU node; only stages that never touch the device may run).
fn devices_for(
    cli: &Cli,
    slurm: bool,
    options: &repro::engine::slurm::SlurmOptions,
) -> Result<Devices> {
    let named = |d: &str| {
        if d == "cuda" {
            tch::Device::Cuda(0)
        } else {
            tch::Device::Cpu
        }
    };
    if slurm && cli.device == "auto" {
        let node = |stage: Option<&str>| options.node_device(stage).map_err(|e| anyhow!(e));
        let mut devices = Devices::all(named(node(None)?));
        for stage in options.stages.keys() {
            let device = named(node(Some(stage))?);
            if device != devices.default {
                devices.by_stage.insert(stage.clone(), device);
            }
        }
        return Ok(devices);
    }
    let assumed = std::env::var_os("REPRO_ASSUME_CUDA").is_some_and(|v| v == "1");
    let own_stage = match &cli.command {
        Command::RunUnit(a) => Some(a.stage.as_str()),
        _ => None,
    };
    // Checked: the device this process will compute on. Unchecked: a planner's for
    // Slurm nodes, or another stage's in a task.
    let resolve = |choice: &str, checked: bool| -> Result<tch::Device> {
        if choice == "cuda" && (slurm || assumed || !checked) {
            return Ok(tch::Device::Cuda(0));
        }
        repro::model::pick_device(choice).map_err(|e| anyhow!(e))
    };
    let mut given = Vec::new();
    for pair in &cli.stage_devices {
        let (stage, device) = pair
            .split_once('=')
            .ok_or_else(|| anyhow!("--stage-device {pair}: expected STAGE=DEVICE"))?;
        given.push((stage.to_string(), device.to_string()));
    }
    let own_given = given.iter().any(|(s, _)| Some(s.as_str()) == own_stage);
    let mut devices = Devices::all(resolve(&cli.device, !own_given)?);
    for (stage, device) in given {
        let checked = Some(stage.as_str()) == own_stage;
        devices.by_stage.insert(stage, resolve(&device, checked)?);
    }
    Ok(devices)
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

/// The command a Slurm task or local worker runs: this binary with this project's options.
fn launcher(cli: &Cli, project: &Project, devices: &Devices) -> Vec<String> {
    let name = |d: tch::Device| repro::model::device_name(d).replace(":0", "");
    let mut l = vec![
        std::env::current_exe()
            .map(|p| p.display().to_string())
            .unwrap_or_else(|_| "repro".into()),
        "--config".into(),
        project.config.file.display().to_string(),
        "--device".into(),
        // The devices decided here, not `auto`: a task must not decide again on its node.
        name(devices.default),
        "--quiet".into(),
    ];
    for (stage, device) in &devices.by_stage {
        l.extend([
            "--stage-device".into(),
            format!("{stage}={}", name(*device)),
        ]);
    }
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
