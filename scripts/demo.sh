#!/usr/bin/env bash
# The main job, end to end: render a new plugin, install it, list it, check it; then do the
# same for one of the example plugins. Uses its own virtual environment, .venv-demo.
set -euo pipefail
OMI_VENV="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/.venv-demo" OMI_EXTRAS=testing \
    source "$(dirname "${BASH_SOURCE[0]}")/setup-venv.sh"
cd "$ROOT"
WORK="$ROOT/demo"
mkdir -p "$WORK"
rm -rf "$WORK/omi-embedding-hello"

step() { printf '\n==> %s\n' "$*"; }

step "omi plugins new embedding hello -o demo --no-input"
omi plugins new embedding hello -o "$WORK" --no-input

step "pip install -e demo/omi-embedding-hello"
pip_install -e "$WORK/omi-embedding-hello"

step "pip install -e examples/omi-embedding-example"
pip_install -e "$ROOT/examples/omi-embedding-example"

step "omi plugins list"
omi plugins list

step "omi plugins check hello"
omi plugins check hello

step "omi plugins check dummy"
omi plugins check dummy

printf '\nDone: demo/omi-embedding-hello is a complete plugin package; open it and make it yours.\n'
