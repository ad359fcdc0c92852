#!/usr/bin/env bash
# The headline experiment (configs/bench_fine_foods.yaml): hours with the embedded Gemma oracle.
#
#   scripts/run_headline.sh [extra proxyx bench options, e.g. -q]
#
# Resumable: every paid model call goes to the cache (.proxyx-cache in the repository root), so
# after an interruption (Ctrl-C, a reboot, a crash) run the same command again; it replays what
# was paid from the cache and pays only for the rest, and finishes with the same numbers.
# docs/headline/bench.json is rewritten after every finished cell (status "running" until done);
# bench.md and fidelity_vs_cost.png are written at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
PROXYX="${PROXYX:-.venv/bin/proxyx}"
echo "headline: $(date -u +%Y-%m-%dT%H:%M:%SZ), $(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p'), $(free -g | awk '/^Mem:/ {print $2 " GiB"}'), proxyx $(git rev-parse --short HEAD 2>/dev/null || echo '?')"
status=0
"$PROXYX" bench configs/bench_fine_foods.yaml --out docs/headline "$@" || status=$?
case $status in
  0) echo "headline: docs/headline/bench.md" ;;
  3) echo "headline finished with failed instances (see docs/headline/bench.json); rerun to retry them" ;;
  *) echo "headline stopped (exit $status); run scripts/run_headline.sh again to resume from the cache" >&2 ;;
esac
exit $status
