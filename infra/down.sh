#!/usr/bin/env bash
# Stops the services that infra/up.sh started for this checkout (MinIO, then Kafka, then PostgreSQL).
# Data, settings and the build cache stay, so the next up.sh is quick.
#
#   bash infra/down.sh                # all three
#   bash infra/down.sh kafka          # only these
#   bash infra/down.sh --purge        # stop all and delete this checkout's data and env file
#                                     # (the shared build cache in ~/.cache/hbi-infra stays)
set -euo pipefail
# shellcheck source=lib/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

PURGE="" SERVICES=()
for arg in "$@"; do
  case "$arg" in
    postgres | kafka | minio) SERVICES+=("$arg") ;;
    --purge) PURGE=1 ;;
    -h | --help)
      sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'
      exit 0
      ;;
    *) die "unknown argument '$arg' (expected: postgres, kafka, minio, --purge)" ;;
  esac
done
[ ${#SERVICES[@]} -gt 0 ] || SERVICES=(postgres kafka minio)
[ -n "$PURGE" ] && SERVICES=(postgres kafka minio)
wants() { case " ${SERVICES[*]} " in *" $1 "*) return 0 ;; esac; return 1; }

if [ ! -d "$HBI_INFRA_STATE" ]; then
  log "nothing to stop: $HBI_INFRA_STATE does not exist"
  exit 0
fi
exec 9>"$HBI_INFRA_STATE/.lock"
flock -w 120 9 || die "another infra/up.sh or down.sh holds $HBI_INFRA_STATE/.lock"
load_env || true

# stop_pid NAME PID SECONDS: SIGTERM, wait, then SIGKILL.
stop_pid() {
  local name="$1" pid="$2" wait_s="$3"
  kill -TERM "$pid" 2>/dev/null || return 0
  for _ in $(seq 1 $((wait_s * 5))); do
    kill -0 "$pid" 2>/dev/null || {
      log "$name stopped"
      return 0
    }
    sleep 0.2
  done
  warn "$name (pid $pid) did not stop within $wait_s s: killing it"
  kill -KILL "$pid" 2>/dev/null || true
}

if wants minio; then
  pid="$(minio_pid || true)"
  if [ -n "$pid" ]; then stop_pid minio "$pid" 20; else log "minio: not running"; fi
  rm -f "$RUN_DIR/minio.pid"
fi
if wants kafka; then
  pid="$(kafka_pid || true)"
  # A single KRaft node shuts down in a few seconds; give it time to close its logs cleanly.
  if [ -n "$pid" ]; then stop_pid kafka "$pid" 60; else log "kafka: not running"; fi
  rm -f "$RUN_DIR/kafka.pid"
fi
if wants postgres; then
  pid="$(pg_pid || true)"
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    if is_root; then
      runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$DATA_DIR/postgres" -m fast -w -t 60 stop >/dev/null 9>&- || stop_pid postgres "$pid" 30
    else
      "$PG_BIN/pg_ctl" -D "$DATA_DIR/postgres" -m fast -w -t 60 stop >/dev/null 9>&- || stop_pid postgres "$pid" 30
    fi
    log "postgres stopped"
  else
    log "postgres: not running"
  fi
fi

if [ -n "$PURGE" ]; then
  rm -rf "$DATA_DIR" "$RUN_DIR" "$HBI_INFRA_STATE/kafka" "$ENV_FILE"
  log "purged $DATA_DIR and $ENV_FILE (logs stay in $LOG_DIR)"
fi
