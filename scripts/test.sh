#!/usr/bin/env bash
# The one test command (`npm test`): lint, typecheck, then each test tier in order; stops at the first
# failure. Tiers are added here as they appear (integration, e2e, the Python model's tests via
# `bash model/scripts/test.sh`). Ends with one "N passed, N failed" line per tier for CI's log reader.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p .cache

step() { printf '\n== %s\n' "$1"; }

# Runs one vitest project and prints its totals as a plain "N passed, N failed, N skipped" line.
vitest_tier() {
  local project="$1" report=".cache/vitest-$1.json" status=0
  npx --no-install vitest run --project "$project" --reporter=default --reporter=json --outputFile="$report" || status=$?
  node -e '
    const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
    const skipped = r.numPendingTests + r.numTodoTests;
    console.log(`${process.argv[2]}: ${r.numPassedTests} passed, ${r.numFailedTests} failed, ${skipped} skipped`);
  ' "$report" "$project" || true
  return "$status"
}

step "lint (eslint + prettier)"
npx --no-install eslint .
npx --no-install prettier --check .

step "typecheck (tsc)"
npx --no-install tsc -p tsconfig.json --noEmit

step "unit tests (vitest)"
vitest_tier unit

step "e2e tests (vitest: the server in-process, driven over HTTP)"
vitest_tier e2e

step "model package tests (pytest: synthclips, HBI model, Banzhaf, metrics, export parity)"
bash infra/install-ffmpeg.sh
bash model/scripts/test.sh
