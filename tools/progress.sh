# Sourced by tools/venv.sh and tools/build_llama_server.sh: run a long command with its output
# in a log file while stderr shows how long it has been running and what it is doing (pip's
# current step, or ninja's "[n/m] compiling file.c"). On a terminal the line is redrawn every
# second; otherwise a line is written when the step changes, at most every 10 s, and every
# minute. Sets PROGRESS_SECONDS to the command's duration.

# "4 min 05 s" from a number of seconds.
duration() {
    local s=$1
    if [ "$s" -ge 60 ]; then printf '%d min %02d s' $((s / 60)) $((s % 60)); else printf '%d s' "$s"; fi
}

# The latest step the log at $1 names, shortened.
_progress_step() {
    { grep -E '^ *(\[[0-9]+/[0-9]+\] |Collecting|Building wheel|Building editable|Installing|Downloading|Using cached|Created wheel|Successfully)' \
        "$1" 2>/dev/null || true; } | tail -n 1 | sed -E \
        -e 's/^ +//' \
        -e 's#^(\[[0-9]+/[0-9]+\]) Building [A-Z]+ object .*/([^/]+)\.o$#\1 compiling \2#' \
        -e 's#^(\[[0-9]+/[0-9]+\]) Linking [A-Z]+ [a-z ]+ .*/([^/]+)$#\1 linking \2#' \
        -e 's#^(\[[0-9]+/[0-9]+\]) .* -c ([^ ]*/)?([^/ ]+)( .*)?$#\1 compiling \3#' \
        -e 's#^(\[[0-9]+/[0-9]+\]) .* -o ([^ ]*/)?([^/ ]+) .*$#\1 linking \3#' \
        -e 's/ \(from .*//' | cut -c1-70
}

# Runs in the background: draws the line until the command's shell ($1) is gone or killed.
_progress_ticker() {
    local parent=$1 start=$2 log=$3 last="" shown=0 elapsed step
    while sleep 1 && kill -0 "$parent" 2>/dev/null; do
        elapsed=$(( $(date +%s) - start )); step="$(_progress_step "$log")"
        if [ -t 2 ]; then
            printf '\r  [%s] %-70s' "$(duration "$elapsed")" "${step:-starting}" >&2
        elif { [ "$step" != "$last" ] && [ $((elapsed - shown)) -ge 10 ]; } \
                || [ $((elapsed - shown)) -ge 60 ]; then
            echo "  [$(duration "$elapsed")] ${step:-starting}" >&2
            last="$step"; shown=$elapsed
        fi
    done
}

# with_progress LOG COMMAND...: COMMAND's status; its output goes to LOG.
with_progress() {
    local log=$1 start status=0 ticker
    shift
    start=$(date +%s)
    : > "$log"
    _progress_ticker $$ "$start" "$log" &
    ticker=$!
    "$@" >"$log" 2>&1 || status=$?
    kill "$ticker" 2>/dev/null || true
    wait "$ticker" 2>/dev/null || true
    if [ -t 2 ]; then printf '\r%90s\r' '' >&2; fi
    PROGRESS_SECONDS=$(( $(date +%s) - start ))
    return "$status"
}
