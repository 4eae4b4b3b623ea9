#!/usr/bin/env bash
# Install the Debian packages the tests use when they are missing:
#   graphviz  -- `dot`, renders the visualiser's SVG/PNG
#   chromium  -- headless browser for the interactive-HTML test
#   postgresql-15 -- the server the session-store tests start (a throwaway cluster each run)
# Needs root (or sudo); without it, prints what is missing and the related tests skip.
set -euo pipefail
needed=()
command -v dot >/dev/null 2>&1 || needed+=(graphviz)
[ -x /usr/bin/chromium ] || needed+=(chromium)
[ -x /usr/lib/postgresql/15/bin/pg_ctl ] || needed+=(postgresql-15)
[ ${#needed[@]} -eq 0 ] && exit 0
run=()
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
        run=(sudo -n)
    else
        echo "system packages missing: ${needed[*]} (install with: apt-get install ${needed[*]}); related tests will skip" >&2
        exit 0
    fi
fi
echo "installing system packages: ${needed[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
"${run[@]}" apt-get update -qq >&2
"${run[@]}" apt-get install -y -qq --no-install-recommends "${needed[@]}" >&2
