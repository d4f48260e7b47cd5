#!/usr/bin/env bash
# Compares two published report folders (report/out of two runs of the same profile):
# every figure's CSV must be byte-identical, and so must the claims table and each
# figure's findings ("This run:" lines) of report.md. Captions, provenance and keys may
# differ. Exit 0 when they agree, 1 otherwise (each difference is printed).
#
#   scripts/compare-runs.sh BEFORE/report/out AFTER/report/out
set -euo pipefail
if [ $# -ne 2 ]; then
    echo "usage: $0 REPORT_DIR_A REPORT_DIR_B" >&2
    exit 2
fi
a=$1 b=$2
for d in "$a" "$b"; do
    if [ ! -f "$d/report.md" ] || [ ! -d "$d/figures" ]; then
        echo "$d: not a report folder (no report.md and figures/)" >&2
        exit 2
    fi
done
status=0

csvs_a=$(cd "$a/figures" && ls -- *.csv | sort)
csvs_b=$(cd "$b/figures" && ls -- *.csv | sort)
if [ "$csvs_a" != "$csvs_b" ]; then
    echo "different sets of figure CSVs:"
    diff <(echo "$csvs_a") <(echo "$csvs_b") || true
    status=1
fi
same=0
for f in $csvs_a; do
    [ -f "$b/figures/$f" ] || continue
    if cmp -s "$a/figures/$f" "$b/figures/$f"; then
        same=$((same + 1))
    else
        echo "figures/$f differs:"
        diff "$a/figures/$f" "$b/figures/$f" | head -20 || true
        status=1
    fi
done
echo "figure CSVs: $same of $(echo "$csvs_a" | wc -w) byte-identical"

# The claims table: from "## Claims" up to the next section.
claims() { awk '/^## /{on = ($0 == "## Claims")} on' "$1/report.md"; }
# Each figure's findings: the "- " lines of the Figures section, under their heading.
findings() { awk '/^## /{on = ($0 == "## Figures")} on && (/^### / || /^- /)' "$1/report.md"; }
for part in claims findings; do
    if diff <($part "$a") <($part "$b") > /tmp/compare-runs.$$; then
        echo "$part: identical ($($part "$a" | grep -c '^[|-] ') rows)"
    else
        echo "$part differ:"
        cat /tmp/compare-runs.$$
        status=1
    fi
    rm -f /tmp/compare-runs.$$
done
exit $status
