#!/usr/bin/env bash
# Take a screenshot of a web page (e.g. a Prefect UI artifact page) with headless Chromium.
#
#   scripts/ui_screenshot.sh URL OUT.png [WIDTHxHEIGHT] [WAIT_MS]
#
# WIDTHxHEIGHT defaults to 1400x1000 pixels; WAIT_MS (default 15000) is Chromium's virtual time budget, how long
# the page's scripts may run (fetch the API, render) before the picture is taken. Needs Debian's `chromium`
# (apt-get install -y chromium) or $CHROMIUM. Each call uses a fresh, throw-away profile and leaves no process.
set -euo pipefail

if [[ $# -lt 2 ]]; then
    echo "usage: $0 URL OUT.png [WIDTHxHEIGHT] [WAIT_MS]" >&2
    exit 2
fi
url=$1
out=$2
size=${3:-1400x1000}
wait_ms=${4:-15000}
chromium=${CHROMIUM:-$(command -v chromium || command -v chromium-browser || true)}
if [[ -z $chromium ]]; then
    echo "chromium not found: apt-get install -y chromium, or set CHROMIUM" >&2
    exit 1
fi

profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT
mkdir -p "$(dirname "$out")"
rm -f "$out"
# --no-sandbox: needed when running as root (containers); the other flags keep Chromium off the network.
timeout 120 "$chromium" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync --hide-scrollbars \
    --user-data-dir="$profile" --window-size="${size/x/,}" --virtual-time-budget="$wait_ms" \
    --screenshot="$out" "$url" >/dev/null 2>&1 || true
if [[ ! -s $out ]]; then
    echo "no screenshot written to $out (is $url reachable?)" >&2
    exit 1
fi
echo "$out"
