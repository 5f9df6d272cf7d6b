#!/usr/bin/env bash
# Creates (idempotently) a Python venv with ansible-core 2.19 for the differential tests, and
# passlib, which 2.19 hashes passwords with (`password_hash`, the `password` lookup's `encrypt`,
# and so the integration targets that create a test user).
# Usage: scripts/install-ansible.sh [VENV_DIR]   (default: .venv-ansible in the repo root)
# Then: CLEARFLEET_ANSIBLE_BIN_DIR="$VENV_DIR/bin" cargo test --test it inventory_cli::
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${1:-$repo/.venv-ansible}"
want='ansible-core>=2.19,<2.20'
passlib_version='1.7.4'
if [ -x "$venv/bin/ansible-inventory" ] && "$venv/bin/python" - "$passlib_version" <<'PY' 2>/dev/null
import sys
from importlib.metadata import version
v = tuple(int(x) for x in version("ansible-core").split(".")[:2])
if v != (2, 19):
    sys.exit(1)
import passlib.hash  # noqa: F401
sys.exit(0 if version("passlib") == sys.argv[1] else 1)
PY
then
    echo "ansible-core 2.19 and passlib already in $venv"
    exit 0
fi
python3 -m venv "$venv"
"$venv/bin/pip" install --quiet --disable-pip-version-check "$want" "passlib==$passlib_version"
# sed reads all of it: `head` would close the pipe and ansible would die of EPIPE.
"$venv/bin/ansible-inventory" --version | sed -n 1p
echo "installed into $venv; export CLEARFLEET_ANSIBLE_BIN_DIR=$venv/bin"
