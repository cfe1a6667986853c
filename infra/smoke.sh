#!/usr/bin/env bash
# Smoke check of the services infra/up.sh started, as a client would use them:
#   postgres  CREATE EXTENSION vector in a scratch database, a tiny table with an HNSW index, a
#             nearest-neighbour query that the planner answers from that index
#   kafka     create a topic, produce one message and consume it back (Kafka's CLI classes, java -cp)
#   minio     /minio/health/live + ready; put, stat, get and list an object in the videos bucket
#             with the `minio` npm client; its ObjectCreated event arrives on the Kafka events topic
# Leaves nothing behind (scratch database, topic and object are removed). Ends with the line
# "smoke: N passed, N failed"; exit status 0 only when all passed.
#
#   bash infra/up.sh && bash infra/smoke.sh
set -uo pipefail
# shellcheck source=lib/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

load_env || die "no $ENV_FILE: run 'bash infra/up.sh' first"
PASSED=0 FAILED=0 TAG="smoke$$$(date +%s)"
ok() {
  PASSED=$((PASSED + 1))
  printf '[smoke] ok    %s\n' "$*"
}
bad() {
  FAILED=$((FAILED + 1))
  printf '[smoke] FAIL  %s\n' "$*"
}
step() { printf '[smoke] ...   %s\n' "$*"; }
T0="$(now_ms)"

# ---- PostgreSQL + pgvector -------------------------------------------------------------------------
t="$(now_ms)"
step "postgres: pg_isready, CREATE EXTENSION vector, HNSW index"
if ! pg_ready; then
  bad "postgres: pg_isready fails on 127.0.0.1:$HBI_PG_PORT (bash infra/status.sh; logs in $LOG_DIR)"
else
  db="hbi_$TAG"
  if psql_admin -d postgres -c "CREATE DATABASE $db OWNER \"$HBI_PG_USER\" TEMPLATE template0" >/dev/null &&
    out="$(psql_admin -d "$db" -tA <<'SQL'
CREATE EXTENSION vector;
CREATE TABLE items (id int PRIMARY KEY, embedding vector(3));
INSERT INTO items SELECT i, ARRAY[cos(i), sin(i), i / 100.0]::vector FROM generate_series(1, 200) i;
CREATE INDEX items_hnsw ON items USING hnsw (embedding vector_cosine_ops) WITH (m = 8, ef_construction = 32);
SET enable_seqscan = off;
SELECT string_agg(id::text, ',') FROM (SELECT id FROM items ORDER BY embedding <=> ARRAY[cos(7), sin(7), 0.07]::vector LIMIT 3) t;
EXPLAIN (COSTS OFF) SELECT id FROM items ORDER BY embedding <=> '[1,0,0]' LIMIT 3;
SQL
)"; then
    first="$(printf '%s\n' "$out" | sed -n '1p')"
    if [ "${first%%,*}" = 7 ] && printf '%s' "$out" | grep -q 'Index Scan using items_hnsw'; then
      ok "postgres: vector $(psql_admin -d "$db" -tAc "SELECT extversion FROM pg_extension WHERE extname='vector'"), HNSW index used, nearest ids $first ($(since_ms "$t"))"
    else
      bad "postgres: unexpected answer from the HNSW query: $out"
    fi
  else
    bad "postgres: SQL failed (see above)"
  fi
  psql_admin -d postgres -c "DROP DATABASE IF EXISTS $db" >/dev/null 2>&1
fi

# ---- Kafka -------------------------------------------------------------------------------------
t="$(now_ms)"
step "kafka: metadata, create topic, produce one message, consume it"
topic="hbi.$TAG"
if ! kafka_metadata >/dev/null; then
  bad "kafka: no metadata answer from $HBI_KAFKA_BROKERS (bash infra/status.sh; log: $LOG_DIR/kafka.log)"
elif ! kafka_tool org.apache.kafka.tools.TopicCommand --bootstrap-server "$HBI_KAFKA_BROKERS" --create --topic "$topic" \
  --partitions 1 --replication-factor 1 >/dev/null; then
  bad "kafka: creating topic $topic failed"
else
  msg="hello from $TAG"
  if ! printf '%s\n' "$msg" | kafka_tool org.apache.kafka.tools.ConsoleProducer --bootstrap-server "$HBI_KAFKA_BROKERS" \
    --topic "$topic" --producer-property acks=all >/dev/null; then
    bad "kafka: producing to $topic failed"
  else
    got="$(kafka_tool org.apache.kafka.tools.consumer.ConsoleConsumer --bootstrap-server "$HBI_KAFKA_BROKERS" --topic "$topic" \
      --from-beginning --max-messages 1 --timeout-ms 30000 2>/dev/null)"
    if [ "$got" = "$msg" ]; then
      ok "kafka: produced and consumed one message on $topic ($(since_ms "$t"))"
    else
      bad "kafka: consumed '$got', expected '$msg'"
    fi
  fi
  kafka_tool org.apache.kafka.tools.TopicCommand --bootstrap-server "$HBI_KAFKA_BROKERS" --delete --topic "$topic" >/dev/null 2>&1
fi

# ---- MinIO -------------------------------------------------------------------------------------
t="$(now_ms)"
step "minio: health, S3 put/stat/get/list with the minio npm client, bucket event in Kafka"
key="infra-smoke/$TAG.txt"
if ! curl -fsS -o /dev/null --max-time 5 "$HBI_S3_ENDPOINT/minio/health/live" || ! minio_ready; then
  bad "minio: /minio/health/live or /ready fails on $HBI_S3_ENDPOINT (log: $LOG_DIR/minio.log)"
else
  # The platform's S3 client. Taken from the repo's node_modules when npm ci ran, else installed
  # once into the infra cache (pinned as in docs: minio 8.0.7).
  client_dir="$HBI_INFRA_CACHE/node-minio"
  if ! (cd "$REPO_DIR" && node -e 'require.resolve("minio")' 2>/dev/null) && [ ! -f "$client_dir/node_modules/minio/package.json" ]; then
    step "minio: installing the minio npm client into $client_dir"
    mkdir -p "$client_dir"
    (cd "$client_dir" && [ -f package.json ] || echo '{"name":"hbi-infra-minio-client","private":true}' >package.json
    npm install --no-audit --no-fund --silent minio@8.0.7 >/dev/null 2>"$LOG_DIR/npm-minio.log") ||
      warn "npm install minio@8.0.7 failed (log: $LOG_DIR/npm-minio.log)"
  fi
  if res="$(HBI_MINIO_CLIENT_DIR="$client_dir" node "$INFRA_DIR/lib/s3-smoke.mjs" "$key")"; then
    ok "minio: put/stat/get/list $HBI_S3_BUCKET/$key $res ($(since_ms "$t"))"
    t="$(now_ms)"
    # MinIO sends the event to Kafka asynchronously; read the events topic until the key shows up.
    events="$(kafka_tool org.apache.kafka.tools.consumer.ConsoleConsumer --bootstrap-server "$HBI_KAFKA_BROKERS" \
      --topic "$HBI_KAFKA_OBJECT_EVENTS_TOPIC" --from-beginning --timeout-ms 8000 2>/dev/null | grep -F "$TAG" || true)"
    if printf '%s' "$events" | grep -q 's3:ObjectCreated'; then
      ok "minio -> kafka: ObjectCreated event for $key on $HBI_KAFKA_OBJECT_EVENTS_TOPIC ($(since_ms "$t"))"
    else
      bad "minio -> kafka: no ObjectCreated event for $key on $HBI_KAFKA_OBJECT_EVENTS_TOPIC within 8 s of quiet (log: $LOG_DIR/minio.log)"
    fi
    HBI_MINIO_CLIENT_DIR="$client_dir" node "$INFRA_DIR/lib/s3-smoke.mjs" --remove "$key" || warn "could not remove $key"
  else
    bad "minio: S3 round trip with the minio client failed (see above)"
  fi
fi

echo "[smoke] total $(since_ms "$T0")"
echo "smoke: $PASSED passed, $FAILED failed"
[ "$FAILED" = 0 ]
