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
# pip_install ARGS...: install into the venv, quietly, with uv (pip installs uv into the venv
# first: uv then installs the dev extras in seconds where pip takes half a minute); on failure
# show the log and stop.
pip_install() {
    local log="$VENV/pip-install.log"
    if ! { [ -x "$VENV/bin/uv" ] || "$VENV/bin/python" -m pip install uv; } >"$log" 2>&1 ||
        ! "$VENV/bin/uv" pip install --python "$VENV/bin/python" "$@" >>"$log" 2>&1; then
        grep -v 'is ignored' "$log" | tail -n 30 >&2
        echo "error: installing $* into $VENV failed; full log in $log" >&2
        exit 1
    fi
}

# _venv_package: Debian's package with ensurepip for $PYTHON (python3.X-venv), which a Debian
# or Ubuntu python3 lacks until it is installed; empty for a Python apt does not manage.
_venv_package() {
    case "$(readlink -f "$(command -v "$PYTHON")")" in
        /usr/bin/python3*) "$PYTHON" -c 'import sys; print("python3.%d-venv" % sys.version_info[1])' ;;
    esac
}

# A venv needs ensurepip to put pip into it; without it `python3 -m venv` leaves a venv with no pip.
if ! "$PYTHON" -c 'import venv, ensurepip' 2>/dev/null; then
    package="$(_venv_package)"
    if [ -n "$package" ] && [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "==> installing $package (python3 cannot make virtual environments without it)"
        apt_log="$(mktemp)"
        { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$package"; } \
            >"$apt_log" 2>&1 || tail -n 15 "$apt_log" >&2
        rm -f "$apt_log"
    fi
    if ! "$PYTHON" -c 'import venv, ensurepip' 2>/dev/null; then
        echo "error: $PYTHON cannot create virtual environments (no ensurepip module); install" \
            "it with 'sudo apt-get install ${package:-python3-venv}' or set PYTHON to another" \
            "Python 3.10+" >&2
        exit 2
    fi
fi
if [ ! -x "$VENV/bin/python" ] || [ ! -x "$VENV/bin/pip" ]; then
    if [ -n "$(ls -A "$VENV" 2>/dev/null)" ] && [ ! -f "$VENV/pyvenv.cfg" ]; then
        echo "error: $VENV exists and is not a virtual environment; move it or set OMI_VENV" >&2
        exit 2
    fi
    echo "==> creating $VENV"
    # --clear: a venv left without pip by an earlier failed attempt is made again
    if ! "$PYTHON" -m venv --clear "$VENV"; then
        rm -rf "$VENV"
        echo "error: '$PYTHON -m venv $VENV' failed (message above)" >&2
        exit 1
    fi
fi
stamp="$VENV/.omi-installed"
want="$( (cat "$ROOT/pyproject.toml"; echo "$EXTRAS") | sha256sum | cut -d' ' -f1)"
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    echo "==> installing omi-openclaw[$EXTRAS] (editable) into $VENV"
    pip_install -e "$ROOT[$EXTRAS]"
    echo "$want" > "$stamp"
fi
export PATH="$VENV/bin:$PATH"
