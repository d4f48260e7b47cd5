#!/usr/bin/env bash
# CI step: the quick profile through --executor slurm on a single-node cluster, compared
# with a local run of the same profile: every analysis table must be byte-identical.
# Usage: scripts/ci-slurm-quick.sh [DATA_MIRROR]   (needs root, slurm-wlm, munge)
set -euo pipefail
cd "$(dirname "$(readlink -f "$0")")/.."
mirror="$(readlink -f "${1:-../shared/datasets}")"
work="$(mktemp -d)"
trap 'scripts/slurm-cluster.sh stop; rm -rf "$work"' EXIT
# The debug build that `cargo test` just made; keys do not depend on the build profile.
cargo build --quiet
repro="${CARGO_TARGET_DIR:-$PWD/target}/debug/repro"

for where in local slurm; do
  mkdir -p "$work/$where"
  # The project's own stages and templates; a cache of its own.
  sed -e "s|^cache = .*|cache = \"$work/$where/cache\"|" \
      -e "s|^stages = .*|stages = \"$PWD/stages\"|" \
      -e "s|^templates = .*|templates = \"$PWD/report\"|" pipeline.toml > "$work/$where/pipeline.toml"
done

echo "== local run"
"$repro" --config "$work/local/pipeline.toml" --profile quick --data-mirror "$mirror" --quiet \
  run analysis --threads 1
scripts/slurm-cluster.sh start
echo "== slurm run"
"$repro" --config "$work/slurm/pipeline.toml" --profile quick --data-mirror "$mirror" --quiet \
  run analysis --threads 1 --executor slurm

# Same units (keys) and the same bytes in every analysis table.
digests() {
  for m in "$1"/cache/analysis/*/manifest.json; do
    python3 -c 'import json,sys; m=json.load(open(sys.argv[1])); [print(m["unit"], o["path"], o["sha256"]) for o in m["outputs"]]' "$m"
  done | sort
}
digests "$work/local" > "$work/local.txt"
digests "$work/slurm" > "$work/slurm.txt"
n=$(wc -l < "$work/local.txt")
if [ "$n" -eq 0 ] || ! diff -u "$work/local.txt" "$work/slurm.txt"; then
  echo "slurm-quick: the Slurm run's analysis tables differ from the local run's" >&2
  exit 1
fi
echo "slurm-quick: $n analysis tables identical between the local and the Slurm run"
