#!/usr/bin/env bash
# The one test command (`npm test`): lint, typecheck, then each test tier in order; stops at the first
# failure. Tiers: unit, e2e, integration (the real services from infra/), then the Python model's tests
# via `bash model/scripts/test.sh`. Ends with one "N passed, N failed" line per tier for CI's log reader.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p .cache

step() { printf '\n== %s\n' "$1"; }

# First, the Debian packages any tier needs (ffmpeg with ffprobe), before any tier and before infra/up.sh
# starts its own apt-get in the background (both would take dpkg's lock).
step "system packages (infra/system-packages.sh)"
bash infra/system-packages.sh install

# The integration tier needs PostgreSQL, Kafka and MinIO. Bringing them up can take long on a fresh
# machine (MinIO compiles from source: up to ~26 min), so it starts now, in the background, while the
# other tiers run; the integration tier waits for it. up.sh is idempotent and takes ~1 s when all is up.
INFRA_LOG=.cache/infra-up.log
bash infra/up.sh >"$INFRA_LOG" 2>&1 </dev/null &
INFRA_PID=$!
infra_note() {
  if kill -0 "$INFRA_PID" 2>/dev/null; then
    echo "note: infra/up.sh is still starting the services in the background (log: $INFRA_LOG)" >&2
  fi
}
trap infra_note EXIT

# Runs one vitest project and prints its totals as one plain line:
#   "<tier>: N passed, N failed, N skipped, N files failed outside any test"
# A file that fails outside any test (a beforeAll that throws, an import error) counts as a failure
# even when vitest reports its tests as skipped, and a tier in which no test passed fails.
vitest_tier() {
  local project="$1" report=".cache/vitest-$1.json" status=0
  rm -f "$report"
  npx --no-install vitest run --project "$project" --reporter=default --reporter=json --outputFile="$report" || status=$?
  node scripts/tier-summary.mjs "$report" "$project" || status=1
  return "$status"
}

step "lint (eslint + prettier)"
npx --no-install eslint .
npx --no-install prettier --check .

step "typecheck (tsc: the platform, then the web console)"
npx --no-install tsc -p tsconfig.json --noEmit
npx --no-install tsc -p web/tsconfig.json --noEmit

step "build (dist/: the tests that spawn the hbi command run it; dist/web: the console the browser test opens)"
npx --no-install tsc -p tsconfig.build.json
npx --no-install vite build --config web/vite.config.ts

step "unit tests (vitest)"
vitest_tier unit

step "e2e tests (vitest: the server in-process, driven over HTTP)"
vitest_tier e2e

step "integration tests (vitest: the adapters against PostgreSQL + pgvector, Kafka and MinIO from infra/)"
infra_status=0
wait "$INFRA_PID" || infra_status=$?
cat "$INFRA_LOG"
if [ "$infra_status" -ne 0 ]; then
  echo "infra/up.sh failed (exit $infra_status); its output is above" >&2
  exit "$infra_status"
fi
# In a subshell, so the services' settings do not leak into the tiers after this one.
(
  # shellcheck source=/dev/null
  source .cache/infra/env
  vitest_tier integration
)

step "model package tests (pytest: synthclips, HBI model, Banzhaf, metrics, export parity)"
bash model/scripts/test.sh
