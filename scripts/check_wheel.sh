#!/usr/bin/env bash
# Check that cdpsim's wheel stands alone: build it, install it into a fresh virtual environment
# outside the checkout (core dependencies only, pinned by constraints.txt), copy the shipped
# examples out and run one by its name from a folder with no repository file in reach.
#
#     scripts/check_wheel.sh            # from anywhere; exit 0 when the installed wheel runs
#
# What it proves that the tests cannot: the wheel carries the scenarios and their data files
# (sim/examples, a link to scenarios/ in the repository), its metadata installs the core
# dependencies, and `cdpsim examples` / `cdpsim run NAME` work from site-packages.
# Work happens in a temporary folder, removed at the end (kept with KEEP=1).
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
cd "$repo"  # python3.12 as the repository selects it (.python-version under pyenv)
work=$(mktemp -d -t cdpsim-wheel-XXXXXX)
if [[ "${KEEP:-0}" != 1 ]]; then
    trap 'rm -rf "$work"' EXIT
fi
start=$SECONDS

python3.12 -m pip wheel -q --no-deps . -w "$work/dist"
wheel=$(ls "$work"/dist/cdpsim-*.whl)
echo "built $(basename "$wheel") in $((SECONDS - start)) s"

python3.12 -m venv "$work/venv"
"$work/venv/bin/pip" install -q "$wheel" -c "$repo/constraints.txt"
echo "installed into a fresh venv ($(du -sh "$work/venv" | cut -f1)) at $((SECONDS - start)) s"

# From a folder outside the checkout: nothing can be found by a relative path into the repo.
cd "$work"
"$work/venv/bin/cdpsim" examples "$work/x"
test -f "$work/x/eth_crash_liq2.yaml"
test -f "$work/x/data/black_thursday_2020_hourly.csv"
"$work/venv/bin/cdpsim" run eth_crash_liq2 --out "$work/x/run"
test -f "$work/x/run/summary.json"
# The core install draws, reports and exports (no extra needed for any of them).
"$work/venv/bin/cdpsim" plot "$work/x/run"
"$work/venv/bin/cdpsim" report "$work/x/run"
"$work/venv/bin/cdpsim" export "$work/x/run" --to xlsx
test -f "$work/x/run-overview.png" && test -f "$work/x/run-report.html" && test -f "$work/x/run.xlsx"
echo "wheel check passed in $((SECONDS - start)) s"
