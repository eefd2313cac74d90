#!/usr/bin/env bash
# Render a uq report in headless Chromium and check it: the page's own script sets
# data-uq-check="ok N images" on <body> once every image decoded and no script error happened.
# Also fails on console errors Chromium logs. Optional second argument: a screenshot to write.
#   examples/report/check_render.sh uq-out/mri/report.html [docs/report_mri.png]
set -euo pipefail
report=${1:?usage: check_render.sh REPORT.html [SCREENSHOT.png]}
shot=${2:-}
browser=$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)
if [[ -z $browser ]]; then
    echo "check_render: no chromium on PATH (Debian: apt-get install chromium)" >&2
    exit 2
fi
url="file://$(realpath "$report")"
flags=(--headless --no-sandbox --disable-gpu --disable-dev-shm-usage --hide-scrollbars
       --virtual-time-budget=5000 --enable-logging=stderr --v=0)
log=$(mktemp)
trap 'rm -f "$log"' EXIT
dom=$("$browser" "${flags[@]}" --dump-dom "$url" 2>"$log")
check=$(grep -o 'data-uq-check="[^"]*"' <<<"$dom" || true)
echo "check_render: $check"
errors=$(grep -E 'CONSOLE|Uncaught|ERR_FILE_NOT_FOUND|net::ERR' "$log" || true)
if [[ -n $errors ]]; then
    echo "check_render: console errors:" >&2
    echo "$errors" >&2
    exit 1
fi
[[ $check == 'data-uq-check="ok '* ]] || { echo "check_render: the page's check did not pass" >&2; exit 1; }
if [[ -n $shot ]]; then
    "$browser" "${flags[@]}" --window-size=1280,2400 --screenshot="$shot" "$url" 2>/dev/null
    echo "check_render: screenshot $shot"
fi
