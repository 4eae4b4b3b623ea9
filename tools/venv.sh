#!/usr/bin/env bash
# Create or reuse the virtual environment for one supported CPython and install the project into it.
# Usage: tools/venv.sh 3.12.1   -> prints the venv's python path on the last line.
# The venv is rebuilt only when pyproject.toml changes (a stamp file holds its hash).
set -euo pipefail
version="$1"
extras="${2:-test}"
root="$(cd "$(dirname "$0")/.." && pwd)"
pyenv_root="${PYENV_ROOT:-$(pyenv root 2>/dev/null || echo "$HOME/.pyenv")}"
base_python="$pyenv_root/versions/$version/bin/python"
if [ ! -x "$base_python" ]; then
    echo "missing interpreter: $base_python; install CPython $version with pyenv" >&2
    exit 2
fi
# One venv per interpreter and set of extras, so `make test` and `make test-llm` keep theirs.
suffix=""
[ "$extras" = "test" ] || suffix="-${extras//,/-}"
venv="$root/.venv/$version$suffix"
stamp="$venv/.autograms-stamp"
want="$(cat "$root/pyproject.toml" | sha256sum | cut -c1-16)-$extras"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    rm -rf "$venv"
    "$base_python" -m venv "$venv" >&2
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip >&2 2>/dev/null || true
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -e "$root[$extras]" >&2
    echo "$want" > "$stamp"
fi
echo "$venv/bin/python"
