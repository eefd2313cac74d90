#!/usr/bin/env bash
# The graph interpreter before and after issue 18: the criterion `interp` bench of this tree and of
# commit 5236658 (the last interpreter before the issue's work; same bench source and models copied
# into a worktree), built once each, then run round-robin ROUNDS times in one go so machine load hits
# both alike. Prints the median time per gradient evaluation of each binary, model and chain count.
# Usage: benches/interp_before_after.sh [ROUNDS] [FILTER]   (FILTER: a criterion filter, default deblur32)
# BEFORE_TREE / BEFORE_TARGET: an existing worktree and target folder for the old commit (builds
# take ~10 minutes each from scratch).
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}
filter=${2:-interp_deblur32}
before=${BEFORE_TREE:-target/interp-before-tree}
if [ ! -d "$before" ]; then
  git worktree add --detach "$before" 5236658 >&2
  cp -r benches/models benches/interp.rs "$before/benches/"
  printf '\n[[bench]]\nname = "interp"\nharness = false\n' >> "$before/Cargo.toml"
fi
bin() { # the bench binary cargo builds in tree $1 (target folder $2, or the tree's own)
  (cd "$1" && CARGO_TARGET_DIR=${2:-target} cargo bench --bench interp --no-run --message-format=json 2>/dev/null) |
    python3 -c 'import json,sys
for l in sys.stdin:
    m = json.loads(l)
    if m.get("reason") == "compiler-artifact" and m["target"]["name"] == "interp" and m.get("executable"):
        print(m["executable"])'
}
b_before=$(bin "$before" "${BEFORE_TARGET:-}")
b_after=$(bin . "${CARGO_TARGET_DIR:-}")
for r in $(seq "$rounds"); do
  for which in before after; do
    exe=b_$which
    "${!exe}" --bench "$filter" --noplot 2>/dev/null | awk -v w="$which" -v r="$r" \
      '/^interp_/ {name=$1}
       /time:/ && !/change:/ {for (i = 1; i <= NF; i++) if ($i == "time:") print "round " r, w, name, $(i + 3), $(i + 4)}'
  done
done
