# Sourced by demo.sh and test.sh: make .venv with omi-openclaw and its dev tools installed.
# Re-installs only when pyproject.toml changed since the last install.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
PYTHON="${PYTHON:-python3}"

if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 10))' 2>/dev/null; then
    echo "error: omi-openclaw needs Python 3.10 or newer; set PYTHON=/path/to/python3.x" >&2
    exit 2
fi
if [ ! -x "$VENV/bin/python" ]; then
    echo "==> creating $VENV"
    "$PYTHON" -m venv "$VENV"
fi
stamp="$VENV/.omi-installed"
want="$(cat "$ROOT/pyproject.toml" | sha256sum | cut -d' ' -f1)"
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    echo "==> installing omi-openclaw (editable) with its dev tools into $VENV"
    log="$VENV/pip-install.log"
    if ! "$VENV/bin/python" -m pip install -e "$ROOT[dev]" >"$log" 2>&1; then
        grep -v 'is ignored' "$log" | tail -n 30 >&2
        echo "error: installing omi-openclaw into $VENV failed; full log in $log" >&2
        exit 1
    fi
    echo "$want" > "$stamp"
fi
export PATH="$VENV/bin:$PATH"
