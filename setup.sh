#!/usr/bin/env bash
# One-time, idempotent set-up for repro on Debian 12 (x86_64).
#
# Installs the system libraries the build links (HDF5), a CPU libtorch 2.13 taken from
# the PyTorch wheel on PyPI (no download from pytorch.org is needed), h5py for the
# interoperability check, and writes .cargo/config.toml so that plain `cargo build`,
# `cargo test` and `cargo run` find libtorch with no environment variable set by hand.
# A second run only checks and returns within seconds.
#
# Option: --run-only  install what running repro needs, not what only the test suite needs
#                      (Chromium, Slurm and munge, the Python test tools).
# Knobs (environment): REPRO_LIBTORCH_HOME  where the libtorch venv lives
#                      (default ~/.local/share/repro/torch-2.13.0, shared by clones)
#                      LIBTORCH             use this existing libtorch instead (e.g. a CUDA build)
set -euo pipefail
cd "$(dirname "$(readlink -f "$0")")"

RUN_ONLY=0
for arg in "$@"; do
  case "$arg" in
    --run-only) RUN_ONLY=1 ;;
    *) printf 'setup: unknown option %s (the one option is --run-only)\n' "$arg" >&2; exit 2 ;;
  esac
done

TORCH_VERSION=2.13.0
CUDA_RUNTIME="nvidia-cuda-runtime==13.0.96.*"
CUDA_CUPTI="nvidia-cuda-cupti==13.0.85.*"
say() { printf 'setup: %s\n' "$*" >&2; }

# --- disk ------------------------------------------------------------------------------
# Measured here: the release build's target/ is about 5 GB, the test build's about 3 GB,
# and the paper's cache peaks near 2 GB. A disk that fills during linking shows up as a
# linker "Bus error", far from its cause, so say it now.
free_gb=$(df -Pk . | awk 'NR == 2 { printf "%d", $4 / 1048576 }')
if [ "${free_gb:-0}" -lt 12 ]; then
  say "warning: ${free_gb} GB free on the disk holding $(pwd); the builds and a paper run need"
  say "about 10 GB (release target/ 5 GB, test target/ 3 GB, cache 2 GB)"
fi

# --- system packages -------------------------------------------------------------------
# libhdf5-dev, pkg-config: the build links HDF5.
# chromium: the test suite opens the HTML report in headless Chromium.
# slurm-wlm, munge: the Slurm executor is tested against a real single-node cluster.
RUN_PACKAGES=(libhdf5-dev pkg-config)
TEST_PACKAGES=(chromium slurm-wlm munge)
APT_PACKAGES=("${RUN_PACKAGES[@]}")
[ "$RUN_ONLY" = 1 ] || APT_PACKAGES+=("${TEST_PACKAGES[@]}")
if ! command -v dpkg-query >/dev/null || ! command -v apt-get >/dev/null; then
  say "this script installs system packages with apt (Debian 12); none found here."
  say "install these yourself: the HDF5 C library with its headers, pkg-config, Python 3 with venv"
  [ "$RUN_ONLY" = 1 ] || say "and, for the test suite: Chromium, Slurm (slurmctld, slurmd) and munge"
  say "(Debian names: ${APT_PACKAGES[*]} python3-venv), then set LIBTORCH to a libtorch 2.13 and"
  say "write .cargo/config.toml as this script does (see its end)"
  exit 1
fi
missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  say "installing system packages: ${missing[*]}"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
else
  say "system packages present"
fi

# --- libtorch --------------------------------------------------------------------------
if [ -n "${LIBTORCH:-}" ]; then
  say "using LIBTORCH=$LIBTORCH from the environment"
  libtorch="$LIBTORCH"
else
  home="${REPRO_LIBTORCH_HOME:-$HOME/.local/share/repro/torch-$TORCH_VERSION}"
  py="$home/venv/bin/python"
  # Python packages the tests use: h5py and pyarrow read the outputs, playwright drives
  # Debian's chromium (it never downloads a browser of its own); rocrate reads exported crates;
  # moto's standalone S3 server is the remote-cache tests' S3 endpoint.
  PY_TOOLS="h5py numpy pyarrow pandas playwright rocrate moto[server]"
  [ "$RUN_ONLY" = 0 ] || PY_TOOLS=""
  base_stamp="torch==$TORCH_VERSION $CUDA_RUNTIME $CUDA_CUPTI"
  stamp="$base_stamp $PY_TOOLS"
  if [ ! -x "$py" ] || [ ! -f "$home/.complete" ]; then
    say "installing libtorch $TORCH_VERSION (CPU) from the PyPI wheel into $home (~540 MB)"
    rm -rf "$home"
    mkdir -p "$home"
    python3 -m venv "$home/venv"
    # --no-deps: the wheel's own dependency list pulls the 2.7 GB CUDA stack; libtorch_cpu
    # only needs the two small runtime wheels below, found through its RPATH.
    "$py" -m pip install -q --no-deps "torch==$TORCH_VERSION" "$CUDA_RUNTIME" "$CUDA_CUPTI"
  fi
  have=$(cat "$home/.complete" 2>/dev/null || true)
  # A run-only set-up is satisfied by a full one (same libtorch, more tools).
  if [ "$have" != "$stamp" ] && ! { [ "$RUN_ONLY" = 1 ] && [ "${have#"$base_stamp"}" != "$have" ]; }; then
    # shellcheck disable=SC2086
    [ -z "$PY_TOOLS" ] || (set -f; "$py" -m pip install -q $PY_TOOLS)
    printf '%s' "$stamp" > "$home/.complete"
  else
    say "libtorch $TORCH_VERSION present in $home"
  fi
  # Never `import torch` here: without the CUDA stack it fails. Ask sysconfig instead.
  site=$("$py" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
  libtorch="$site/torch"
fi
[ -f "$libtorch/lib/libtorch_cpu.so" ] || { say "no libtorch_cpu.so under $libtorch/lib"; exit 1; }

# --- cargo configuration (git-ignored) ---------------------------------------------------
mkdir -p .cargo
want=$(cat <<CFG
# Written by setup.sh; do not edit (re-run ./setup.sh instead).
[env]
LIBTORCH = "$libtorch"
# Test and bench binaries link libtorch too; spare them OpenMP spin-waiting (see README).
OMP_WAIT_POLICY = "PASSIVE"
REPRO_PYTHON = "${py:-python3}"
CFG
)
if [ ! -f .cargo/config.toml ] || [ "$(cat .cargo/config.toml)" != "$want" ]; then
  printf '%s\n' "$want" > .cargo/config.toml
  say "wrote .cargo/config.toml (LIBTORCH=$libtorch)"
fi
say "ready"
