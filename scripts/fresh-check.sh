#!/usr/bin/env bash
# The fresh-machine check: runs CI (`.ci/run`) on a clean clone of the current commit, on this machine
# made to look new. Run it before you stop after any change to install steps, test tiers or infra.
#
#   bash scripts/fresh-check.sh [--keep] [--keep-packages]
#
# What it does, in order:
#   1. removes the Debian packages the test command installs (`infra/system-packages.sh packages`:
#      ffmpeg with ffprobe today), so the test command must install them itself, before its first tier;
#   2. moves the shared infra build cache (~/.cache/hbi-infra: MinIO binary, Kafka jars, pgvector build)
#      and Go's module and build caches (MinIO is built with go) aside, so infra/up.sh builds the
#      services cold;
#   3. clones the current commit (committed work only: uncommitted changes are not checked) into a
#      temporary folder, with empty npm and pip caches of its own, and runs `bash .ci/run` there;
#   4. stops the clone's services, restores the infra cache, and reports each tier's closing line and the
#      time taken. The exit status is .ci/run's.
#
# --keep keeps the clone (its path is printed) and its services' data; --keep-packages skips step 1.
# Needs root (apt-get) and about 25 minutes when everything is cold.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
KEEP=""
REMOVE_PACKAGES=1
for arg in "$@"; do
  case "$arg" in
    --keep) KEEP=1 ;;
    --keep-packages) REMOVE_PACKAGES="" ;;
    *)
      echo "usage: bash scripts/fresh-check.sh [--keep] [--keep-packages]" >&2
      exit 2
      ;;
  esac
done
say() { printf '[fresh-check] %s\n' "$*" >&2; }
[ "$(id -u)" = 0 ] || {
  say "needs root: it removes and reinstalls system packages with apt-get"
  exit 2
}

commit="$(git -C "$repo" rev-parse HEAD)"
if [ -n "$(git -C "$repo" status --porcelain --untracked-files=no)" ]; then
  say "note: the checkout has uncommitted changes; only commit ${commit:0:12} is checked"
fi

cache="${HBI_INFRA_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/hbi-infra}"
aside="$cache.aside-$$"
work="$(mktemp -d /tmp/hbi-fresh.XXXXXX)"
# infra/up.sh runs PostgreSQL as the postgres user, which must reach the clone's .cache/infra.
chmod 755 "$work"
clone="$work/hbi-platform"
log="$work/ci.log"

# Go's caches: a warm one builds MinIO in about a minute instead of five.
go_caches=()
if command -v go >/dev/null; then
  for dir in "$(go env GOMODCACHE)" "$(go env GOCACHE)"; do [ -n "$dir" ] && go_caches+=("$dir"); done
fi

restore() {
  for dir in "${go_caches[@]}"; do
    if [ -d "$dir.aside-$$" ]; then
      chmod -R u+w "$dir" 2>/dev/null || true
      rm -rf "$dir"
      mv "$dir.aside-$$" "$dir"
    fi
  done
  if [ -d "$clone/infra" ]; then
    (cd "$clone" && if [ -n "$KEEP" ]; then bash infra/down.sh; else bash infra/down.sh --purge; fi) >/dev/null 2>&1 || true
  fi
  if [ -d "$aside" ]; then
    rm -rf "$cache"
    mv "$aside" "$cache"
    say "restored the infra cache $cache"
  fi
  if [ -z "$KEEP" ]; then
    cp "$log" "/tmp/hbi-fresh-check-${commit:0:12}.log" 2>/dev/null || true
    rm -rf "$work"
  fi
}
trap restore EXIT

if [ -n "$REMOVE_PACKAGES" ]; then
  mapfile -t packages < <(bash "$repo/infra/system-packages.sh" packages)
  say "removing the test command's system packages: ${packages[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 remove -y -qq "${packages[@]}" >/dev/null
  for tool in ffmpeg ffprobe chromium; do
    if command -v "$tool" >/dev/null; then say "warning: $tool is still on PATH at $(command -v "$tool") (not from these packages)"; fi
  done
fi
if [ -d "$cache" ]; then
  mv "$cache" "$aside"
  say "moved the infra cache aside: $cache -> $aside"
fi
for dir in "${go_caches[@]}"; do
  if [ -d "$dir" ]; then
    mv "$dir" "$dir.aside-$$"
    say "moved Go's cache aside: $dir"
  fi
done

say "cloning ${commit:0:12} into $clone"
git clone --quiet --no-hardlinks "$repo" "$clone"
git -C "$clone" checkout --quiet --detach "$commit"

say "running .ci/run (log: $log)"
started=$(date +%s)
status=0
(
  cd "$clone"
  export npm_config_cache="$work/npm-cache" PIP_CACHE_DIR="$work/pip-cache"
  bash .ci/run
) >"$log" 2>&1 || status=$?
elapsed=$(($(date +%s) - started))

echo
echo "== fresh-machine check of ${commit:0:12}: .ci/run exit $status after $((elapsed / 60)) min $((elapsed % 60)) s"
grep -E '^(unit|e2e|integration): [0-9]+ passed' "$log" || echo "(no vitest tier line: see the log)"
grep -E 'system-packages\] installed|postgres: .*kafka: .*minio: .*total' "$log" || true
grep -E '^[0-9]+ passed|^=+ .*(passed|failed)' "$log" | tail -n 1 || echo "(no pytest line)"
if [ "$status" -ne 0 ]; then
  echo "-- last lines of the log:"
  tail -n 40 "$log"
fi
if [ -n "$KEEP" ]; then
  echo "clone kept: $clone (log: $log)"
else
  echo "log kept: /tmp/hbi-fresh-check-${commit:0:12}.log"
fi
exit "$status"
