#!/usr/bin/env bash
# Create (once) a separate virtual environment holding the LiteLLM proxy, used by `make test-llm`
# to check autograms against a real LiteLLM proxy in front of the local llama.cpp server.
# It is kept apart from the project's venvs because litellm pins many packages of its own.
#
# Usage: tools/litellm_venv.sh        -> prints the path of the `litellm` executable on the last line
# Env:   PYTHON=/path/to/python3.x    (default: pyenv's 3.12.1 if present, else python3)
#        LITELLM_VENV=/some/dir       (default: ~/.cache/autograms/litellm-venv)
set -euo pipefail

LITELLM_SPEC="litellm[proxy]==1.106.2"
venv="${LITELLM_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/autograms/litellm-venv}"
stamp="$venv/.autograms-stamp"

say() { echo "litellm_venv: $*" >&2; }
die() { say "error: $*"; exit 1; }

if [ -z "${PYTHON:-}" ]; then
    pyenv_root="${PYENV_ROOT:-$(pyenv root 2>/dev/null || echo "$HOME/.pyenv")}"
    if [ -x "$pyenv_root/versions/3.12.1/bin/python" ]; then
        PYTHON="$pyenv_root/versions/3.12.1/bin/python"
    else
        PYTHON="python3"
    fi
fi

if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$LITELLM_SPEC" ] && [ -x "$venv/bin/litellm" ]; then
    echo "$venv/bin/litellm"
    exit 0
fi

say "creating $venv with $("$PYTHON" --version 2>&1) and installing $LITELLM_SPEC (2-3 minutes)"
rm -rf "$venv"
"$PYTHON" -m venv "$venv" || die "cannot create a venv with $PYTHON; set PYTHON=/path/to/python3.12"
start=$(date +%s)
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check "$LITELLM_SPEC" >&2 \
    || die "pip install $LITELLM_SPEC failed (output above)"
[ -x "$venv/bin/litellm" ] || die "$LITELLM_SPEC installed but $venv/bin/litellm is missing"
echo "$LITELLM_SPEC" > "$stamp"
say "installed in $(( $(date +%s) - start )) s"
echo "$venv/bin/litellm"
