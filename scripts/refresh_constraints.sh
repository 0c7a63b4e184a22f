#!/usr/bin/env bash
# Refresh constraints.txt: the newest releases cdpsim's dependencies allow, tested before they
# are pinned. Run it on purpose (monthly, or to take a fix), from the repository root:
#
#     scripts/refresh_constraints.sh
#
# It builds a throw-away virtual environment with the newest allowed versions, runs the golden
# runs first (bit-exact tables: a numpy, pandas or pyarrow release can change the last bits of a
# float) and then the whole suite, and writes constraints.txt only if both pass. If only the
# golden runs fail, it says so and leaves constraints.txt as it was: check that the differences
# are float rounding (tests/test_golden_runs.py says how) before regenerating the hashes and
# running this again. Commit constraints.txt with the versions that changed in the message.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=$(mktemp -d -t cdpsim-refresh-XXXXXX)
trap 'rm -rf "$venv"' EXIT
python3.12 -m venv "$venv"
"$venv/bin/pip" install -q --upgrade pip
"$venv/bin/pip" install -q -e ".[test,dev]"
if ! "$venv/bin/pytest" -q tests/test_golden_runs.py; then
    echo "refresh_constraints: the golden runs differ with the newest releases; constraints.txt is unchanged" >&2
    exit 1
fi
CDPSIM_BROWSER_TESTS="${CDPSIM_BROWSER_TESTS:-}" "$venv/bin/pytest" -q
{
    sed -n '/^#/p' constraints.txt
    "$venv/bin/pip" freeze --exclude-editable | grep -v -i '^cdpsim'
} > constraints.txt.new
mv constraints.txt.new constraints.txt
git --no-pager diff --stat constraints.txt || true
