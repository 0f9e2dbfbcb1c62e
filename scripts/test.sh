#!/usr/bin/env bash
# Set everything up and run the whole test suite: bash scripts/test.sh [pytest args...]
set -euo pipefail
SCRIPTS="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# Checked before anything is set up: pytest-xdist's own refusal would come only after the setup
# and would not name the variable.
case "${OMI_TEST_WORKERS-}" in
    "" | auto | logical) ;;
    *[!0-9]*)
        echo "error: OMI_TEST_WORKERS must be a whole number of test workers (0 runs the" \
            "tests in one process), got '$OMI_TEST_WORKERS'" >&2
        exit 2
        ;;
esac
# Set up side by side: the venv (made in a subshell), Chromium for the browser tests (installed
# as root, with apt-get, when missing) and then a throwaway PostgreSQL server for the `postgres`
# tests (scripts/postgres.sh: exported here, stopped on exit), whose install, when it is
# missing, takes the same apt lock as Chromium's.
source "$SCRIPTS/chromium.sh"
chromium_install &
chromium_pid=$!
(source "$SCRIPTS/setup-venv.sh") &
venv_pid=$!
wait "$chromium_pid"
source "$SCRIPTS/postgres.sh"
postgres_start
wait "$venv_pid"
source "$SCRIPTS/setup-venv.sh" # made by now: this only puts it first on PATH
cd "$ROOT"

# In parallel: OMI_TEST_WORKERS pytest-xdist workers (0 runs in this process). By default one
# per CPU and one more: the tests wait (on subprocesses, servers, timeouts) about a quarter of
# the time, which the extra worker fills (on 2 CPUs: 3 min 54 s for the whole suite, where 2
# workers took 4 min 53 s). Each test file runs whole on one worker, so its module fixtures
# are made once and its tests never race each other; files go out in the order collected
# (the slow ones first).
workers="${OMI_TEST_WORKERS:-$(python -c 'import os; print((os.cpu_count() or 1) + 1)')}"
set +e
python -m pytest -n "$workers" --dist loadfile --no-loadscope-reorder "$@"
status=$?
set -e
if [ "$status" -eq 5 ]; then
    echo "error: pytest collected no tests; a run that tests nothing is a failure" >&2
    exit 1
fi
exit "$status"
