#!/usr/bin/env bash
# Build llama.cpp's `llama-server` (C++) from the llama.cpp vendored in the llama-cpp-python sdist
# and install it into the per-user cache, where autograms.models.local_server finds it.
#
# Usage: tools/build_llama_server.sh            # build once (stderr shows the steps and the
#                                               # elapsed time); later runs only check the binary
#        JOBS=1 tools/build_llama_server.sh     # fewer compile jobs (default: nproc)
#
# Result: ~/.cache/autograms/llama-server/0.3.36/bin/llama-server (or $XDG_CACHE_HOME/autograms/...)
# Needs: python3 with pip, cmake >= 3.14, ninja, a C++17 compiler. Takes ~10 min on 2 cores.
# Network: only `pip download` of the sdist from the configured package index. The build is
# configured so that nothing is fetched at build time (no prebuilt web UI, no curl, no openssl).
set -euo pipefail

VERSION="0.3.36"
CACHE_ROOT="${XDG_CACHE_HOME:-$HOME/.cache}/autograms/llama-server/$VERSION"
BIN="$CACHE_ROOT/bin/llama-server"
PYTHON="${PYTHON:-python3}"
JOBS="${JOBS:-$(nproc 2>/dev/null || echo 2)}"

# shellcheck source=tools/progress.sh
. "$(dirname "$0")/progress.sh"
# shellcheck source=tools/ggml_flags.sh
. "$(dirname "$0")/ggml_flags.sh"

say() { echo "build_llama_server: $*" >&2; }
die() { say "error: $*"; exit 1; }

if [ -x "$BIN" ] && "$BIN" --version >/dev/null 2>&1; then
    say "already built: $BIN ($("$BIN" --version 2>&1 | grep -m1 -i version || true))"
    echo "$BIN"
    exit 0
fi

for tool in cmake ninja; do
    command -v "$tool" >/dev/null 2>&1 \
        || die "'$tool' not found; install it (apt-get install -y cmake ninja-build, or pip install $tool)"
done
command -v c++ >/dev/null 2>&1 || command -v g++ >/dev/null 2>&1 \
    || die "no C++ compiler found; install one (apt-get install -y g++)"
"$PYTHON" -m pip --version >/dev/null 2>&1 || die "'$PYTHON -m pip' does not work; set PYTHON=/path/to/python"

work="$(mktemp -d "${TMPDIR:-/tmp}/autograms-llama-server.XXXXXX")"
trap 'rm -rf "$work"' EXIT

say "downloading the llama-cpp-python==$VERSION sdist into $work"
# --no-binary for this package only: it forces the sdist (there is no wheel anyway) while pip may
# still use wheels of the build backend it needs to read the sdist's metadata (":all:" would
# compile those from source too: ~2 min instead of ~13 s).
"$PYTHON" -m pip download --quiet --no-deps --no-binary llama-cpp-python -d "$work/dl" \
    "llama-cpp-python==$VERSION" 2> >(grep -v 'is ignored: it is neither a file nor a directory' >&2) \
    || die "pip download of llama-cpp-python==$VERSION failed; check the package index is reachable"
sdist="$(ls "$work"/dl/llama_cpp_python-"$VERSION".tar.gz 2>/dev/null | head -n 1)"
[ -n "$sdist" ] || die "no llama_cpp_python-$VERSION.tar.gz in $work/dl: $(ls "$work/dl")"

say "unpacking $(basename "$sdist")"
tar -xzf "$sdist" -C "$work"
src="$work/llama_cpp_python-$VERSION/vendor/llama.cpp"
[ -f "$src/CMakeLists.txt" ] || die "vendored llama.cpp not found at $src"

flags="$(ggml_cmake_flags)"
say "configuring (cmake, Release, server only, static, no curl/openssl/UI download; ${flags:-native})"
cmake -S "$src" -B "$work/build" -G Ninja \
    -DCMAKE_BUILD_TYPE=Release \
    -DLLAMA_BUILD_SERVER=ON \
    -DLLAMA_BUILD_TESTS=OFF \
    -DLLAMA_BUILD_EXAMPLES=OFF \
    -DLLAMA_BUILD_UI=OFF \
    -DLLAMA_USE_PREBUILT_UI=OFF \
    -DLLAMA_OPENSSL=OFF \
    -DLLAMA_CURL=OFF \
    -DBUILD_SHARED_LIBS=OFF \
    $flags \
    >"$work/configure.log" 2>&1 \
    || { tail -n 40 "$work/configure.log" >&2; die "cmake configure failed (log above)"; }

say "compiling llama-server with $JOBS job(s); this takes ~10 min on 2 cores"
with_progress "$work/build.log" nice -n 10 cmake --build "$work/build" --target llama-server -j "$JOBS" \
    || { tail -n 60 "$work/build.log" >&2; die "compile failed (log above)"; }
say "compiled in $(duration "$PROGRESS_SECONDS")"

built="$work/build/bin/llama-server"
[ -x "$built" ] || die "the build finished but $built is missing"
"$built" --version >/dev/null 2>&1 || die "$built does not run: $("$built" --version 2>&1 | tail -n 3)"

mkdir -p "$CACHE_ROOT/bin"
install -m 0755 "$built" "$BIN.tmp"
mv -f "$BIN.tmp" "$BIN"
cp "$src/LICENSE" "$CACHE_ROOT/LICENSE.llama.cpp" 2>/dev/null || true
say "installed $BIN ($("$BIN" --version 2>&1 | grep -m1 -i version || true))"
echo "$BIN"
