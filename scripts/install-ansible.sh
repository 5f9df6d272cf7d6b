#!/usr/bin/env bash
# Creates (idempotently) a Python venv with ansible-core 2.19 for the differential tests.
# Usage: scripts/install-ansible.sh [VENV_DIR]   (default: .venv-ansible in the repo root)
# Then: CLEARFLEET_ANSIBLE_BIN_DIR="$VENV_DIR/bin" cargo test --test it inventory_cli::
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${1:-$repo/.venv-ansible}"
want='ansible-core>=2.19,<2.20'
if [ -x "$venv/bin/ansible-inventory" ] && "$venv/bin/python" - <<'PY' 2>/dev/null
import sys
from importlib.metadata import version
v = tuple(int(x) for x in version("ansible-core").split(".")[:2])
sys.exit(0 if v == (2, 19) else 1)
PY
then
    echo "ansible-core 2.19 already in $venv"
    exit 0
fi
python3 -m venv "$venv"
"$venv/bin/pip" install --quiet --disable-pip-version-check "$want"
# sed reads all of it: `head` would close the pipe and ansible would die of EPIPE.
"$venv/bin/ansible-inventory" --version | sed -n 1p
echo "installed into $venv; export CLEARFLEET_ANSIBLE_BIN_DIR=$venv/bin"
