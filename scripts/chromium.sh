# Chromium for the browser tests (tests/test_docs.py lays the documentation out in it,
# tests/test_matrix.py opens the matrix page). Source it, then call `chromium_install &` early
# and `wait` on it before the tests start:
#
#   source scripts/chromium.sh && chromium_install
#
# chromium_install installs Debian's `chromium` package, quietly, when no Chromium is on PATH
# and it runs as root on a machine with apt-get; otherwise it does nothing (those tests skip,
# saying why). It never fails the run: a failed install is one warning with the log's tail.

chromium_found() {
    command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 ||
        command -v google-chrome >/dev/null 2>&1
}

chromium_install() {
    if chromium_found || [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
        return 0
    fi
    echo "==> installing Debian's chromium for the browser tests" >&2
    local log
    log="$(mktemp)"
    local apt=(apt-get -o DPkg::Lock::Timeout=300 -q)
    if ! { "${apt[@]}" update && DEBIAN_FRONTEND=noninteractive \
            "${apt[@]}" install -y --no-install-recommends chromium; } >"$log" 2>&1; then
        tail -n 15 "$log" >&2
        echo "warning: 'apt-get install chromium' failed (log above); the browser tests skip" >&2
    fi
    rm -f "$log"
    return 0
}
