# Sourced by the timing scripts (stack.sh, calibrate_batch.sh): strict mode, the uq binary $UQ
# (default target/release/uq), a scratch folder $work removed on exit, and now() for wall times.
set -euo pipefail
UQ=${UQ:-target/release/uq}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
now() { date +%s.%N; }
