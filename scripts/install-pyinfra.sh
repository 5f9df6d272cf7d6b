#!/usr/bin/env bash
# Creates (idempotently) a Python venv with pyinfra 3.x for the benchmark (bench/compare.sh).
# Usage: scripts/install-pyinfra.sh [VENV_DIR]   (default: .venv-pyinfra in the repo root)
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${1:-$repo/.venv-pyinfra}"
want='pyinfra>=3,<4'
if [ -x "$venv/bin/pyinfra" ] && "$venv/bin/python" - <<'PY' 2>/dev/null
import sys
from importlib.metadata import version
sys.exit(0 if version("pyinfra").split(".")[0] == "3" else 1)
PY
then
    echo "pyinfra 3 already in $venv"
    exit 0
fi
python3 -m venv "$venv"
"$venv/bin/pip" install --quiet --disable-pip-version-check "$want"
"$venv/bin/pyinfra" --version
echo "installed into $venv"
