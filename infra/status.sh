#!/usr/bin/env bash
# Reports each service of this checkout: up/down (up = the process lives AND answers: pg_isready,
# a Kafka metadata request, MinIO's /minio/health/ready), port, pid and version.
# Exit status 0 when every service is up, 3 otherwise.
#
#   bash infra/status.sh
set -uo pipefail
# shellcheck source=lib/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

if ! load_env 2>/dev/null; then
  printf '%-9s %-5s %s\n' postgres down "(never started: no $ENV_FILE)" kafka down "" minio down ""
  exit 3
fi

ALL_UP=1
row() { printf '%-9s %-5s port %-6s pid %-8s %s\n' "$@"; }

# PostgreSQL
pid="$(pg_pid || true)"
if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && pg_ready; then
  v="$(psql_admin -d "$HBI_PG_DATABASE" -tAc "SELECT 'PostgreSQL ' || current_setting('server_version') || ', pgvector ' || coalesce((SELECT extversion FROM pg_extension WHERE extname = 'vector'), 'missing')" 2>/dev/null || echo '?')"
  row postgres up "$HBI_PG_PORT" "$pid" "$v"
else
  ALL_UP=""
  v="$("$PG_BIN/postgres" --version 2>/dev/null || echo "PostgreSQL $HBI_PG_MAJOR not installed")"
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && v="$v (process $pid lives but pg_isready fails)"
  row postgres down "$HBI_PG_PORT" - "$v"
fi

# Kafka
pid="$(kafka_pid || true)"
if [ -n "$pid" ] && md="$(kafka_metadata 2000 2>/dev/null)"; then
  ntopics="$(printf '%s' "$md" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).topics.length))')"
  row kafka up "$HBI_KAFKA_PORT" "$pid" "Apache Kafka $HBI_KAFKA_VERSION (KRaft, cluster $HBI_KAFKA_CLUSTER_ID, $ntopics topics)"
else
  ALL_UP=""
  note=""
  [ -f "$KAFKA_LIBS/.complete" ] || note=" (jars not resolved yet)"
  [ -n "$pid" ] && note=" (process $pid lives but does not answer)"
  row kafka down "$HBI_KAFKA_PORT" "${pid:--}" "Apache Kafka $HBI_KAFKA_VERSION$note"
fi

# MinIO
pid="$(minio_pid || true)"
mv_="MinIO github.com/minio/minio@$HBI_MINIO_VERSION"
if [ -n "$pid" ] && minio_ready; then
  row minio up "$HBI_S3_PORT" "$pid" "$mv_ (bucket $HBI_S3_BUCKET, events -> $HBI_KAFKA_OBJECT_EVENTS_TOPIC)"
else
  ALL_UP=""
  note=""
  [ -x "$MINIO_BIN" ] || note=" (not built yet)"
  [ -n "$pid" ] && note=" (process $pid lives but is not ready)"
  row minio down "$HBI_S3_PORT" "${pid:--}" "$mv_$note"
fi

echo "env: $ENV_FILE   logs: $LOG_DIR"
[ -n "$ALL_UP" ] || exit 3
