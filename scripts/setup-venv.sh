# Sourced by demo.sh and test.sh: make a virtual environment with omi-openclaw installed
# (editable, with the extras in OMI_EXTRAS) and put it first on PATH.
# Set OMI_VENV to choose the directory. Re-installs only when pyproject.toml changed.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${OMI_VENV:-$ROOT/.venv}"
EXTRAS="${OMI_EXTRAS:-dev}"
PYTHON="${PYTHON:-python3}"

if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 10))' 2>/dev/null; then
    echo "error: omi-openclaw needs Python 3.10 or newer; set PYTHON=/path/to/python3.x" >&2
    exit 2
fi
# pip_install ARGS...: pip install into the venv, quietly; on failure show the log and stop.
pip_install() {
    local log="$VENV/pip-install.log"
    if ! "$VENV/bin/python" -m pip install "$@" >"$log" 2>&1; then
        grep -v 'is ignored' "$log" | tail -n 30 >&2
        echo "error: pip install $* failed; full log in $log" >&2
        exit 1
    fi
}

if [ ! -x "$VENV/bin/python" ]; then
    echo "==> creating $VENV"
    "$PYTHON" -m venv "$VENV"
fi
stamp="$VENV/.omi-installed"
want="$( (cat "$ROOT/pyproject.toml"; echo "$EXTRAS") | sha256sum | cut -d' ' -f1)"
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    echo "==> installing omi-openclaw[$EXTRAS] (editable) into $VENV"
    pip_install -e "$ROOT[$EXTRAS]"
    echo "$want" > "$stamp"
fi
export PATH="$VENV/bin:$PATH"
