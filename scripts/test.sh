#!/usr/bin/env bash
# Set everything up and run the whole test suite: bash scripts/test.sh [pytest args...]
set -euo pipefail
# Chromium for the browser tests, installed (as root, with apt-get, when missing) while the venv
# is made; waited for before PostgreSQL's install, which takes the same apt lock.
source "$(dirname "${BASH_SOURCE[0]}")/chromium.sh"
chromium_install &
chromium_pid=$!
source "$(dirname "${BASH_SOURCE[0]}")/setup-venv.sh"
cd "$ROOT"
wait "$chromium_pid"
# A throwaway PostgreSQL server for the `postgres` tests, stopped on exit (scripts/postgres.sh).
source "$ROOT/scripts/postgres.sh"
postgres_start

# In parallel: OMI_TEST_WORKERS pytest-xdist workers (default: one per CPU; 0 runs in this
# process). Each test file runs whole on one worker, so its module fixtures are made once and
# its tests never race each other; files go out in the order collected (the slow ones first).
set +e
python -m pytest -n "${OMI_TEST_WORKERS:-auto}" --dist loadfile --no-loadscope-reorder "$@"
status=$?
set -e
if [ "$status" -eq 5 ]; then
    echo "error: pytest collected no tests; a run that tests nothing is a failure" >&2
    exit 1
fi
exit "$status"
