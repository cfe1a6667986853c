# shellcheck shell=bash
# shellcheck disable=SC2034  # the variables here are used by the scripts that source this file
# Shared by infra/up.sh, down.sh, status.sh, smoke.sh and kafka-cli.sh: where things live, the pinned
# versions, the generated settings (ports, credentials) and small helpers. Sourced, never run.

INFRA_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
REPO_DIR="$(cd "$INFRA_DIR/.." && pwd)"

# Downloaded and built artefacts (Kafka jars, the MinIO binary, the pgvector build): shared by every
# checkout on the machine, so a fresh clone (CI) does not rebuild them.
HBI_INFRA_CACHE="${HBI_INFRA_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/hbi-infra}"
# This checkout's services: data, logs, pid files and the generated env file (git-ignored).
HBI_INFRA_STATE="${HBI_INFRA_STATE:-$REPO_DIR/.cache/infra}"
ENV_FILE="$HBI_INFRA_STATE/env"
LOG_DIR="$HBI_INFRA_STATE/logs"
RUN_DIR="$HBI_INFRA_STATE/run"
DATA_DIR="$HBI_INFRA_STATE/data"

# Pinned versions (override with the environment).
HBI_KAFKA_VERSION="${HBI_KAFKA_VERSION:-4.4.0}"
# github.com/minio/minio has no semver tags: `@latest` resolves to the last commit of its master
# branch as a pseudo-version. This one is what `@latest` gave on 2026-11-27 (the community server
# has been unmaintained since February 2026, so it is not expected to move).
HBI_MINIO_VERSION="${HBI_MINIO_VERSION:-v0.0.0-20260212201848-7aac2a2c5b7c}"
HBI_PG_MAJOR="${HBI_PG_MAJOR:-15}"
# pgvector comes from this Debian suite's source package (bookworm has none).
HBI_PGVECTOR_SUITE="${HBI_PGVECTOR_SUITE:-trixie}"
HBI_PGVECTOR_MIN="${HBI_PGVECTOR_MIN:-0.8}"

PG_BIN="/usr/lib/postgresql/$HBI_PG_MAJOR/bin"
KAFKA_LIBS="$HBI_INFRA_CACHE/kafka/$HBI_KAFKA_VERSION/libs"
MINIO_BIN="$HBI_INFRA_CACHE/minio/$HBI_MINIO_VERSION/bin/minio"
# MinIO's notification target id (the <ID> in MINIO_NOTIFY_KAFKA_*_<ID>); its ARN is arn:minio:sqs::<ID>:kafka.
MINIO_NOTIFY_ID="HBI"

log() { printf '[infra] %s\n' "$*" >&2; }
warn() { printf '[infra] warning: %s\n' "$*" >&2; }
die() {
  printf '[infra] ERROR: %s\n' "$*" >&2
  exit 1
}
now_ms() { date +%s%3N; }
# since_ms T0: seconds elapsed since T0 (from now_ms), as 1.234 s.
since_ms() {
  local e=$(($(now_ms) - $1))
  printf '%d.%03d s' $((e / 1000)) $((e % 1000))
}

is_root() { [ "$(id -u)" = 0 ]; }

# port_open PORT: something accepts TCP connections on 127.0.0.1:PORT.
port_open() { timeout 1 bash -c ">/dev/tcp/127.0.0.1/$1" 2>/dev/null; }

# pid_matches PID PATTERN: the process lives and its command line contains PATTERN (guards against
# a pid file naming a recycled pid).
pid_matches() {
  local pid="$1" pattern="$2"
  [ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "$pattern"
}

read_pid() { [ -f "$1" ] && head -n1 "$1" | tr -dc '0-9'; }

# tail_log FILE [N]: the last lines of a log, indented, for error messages.
tail_log() {
  [ -f "$1" ] || return 0
  printf '[infra] --- last lines of %s ---\n' "$1" >&2
  tail -n "${2:-25}" "$1" | sed 's/^/    /' >&2
}

random_secret() { LC_ALL=C tr -dc 'A-Za-z0-9' </dev/urandom | head -c "${1:-24}"; }

# A free TCP port on loopback, chosen by the kernel, not one of those already picked in this run.
PICKED_PORTS=" "
free_port() {
  local p
  for _ in 1 2 3 4 5 6 7 8; do
    p="$(node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')" ||
      die "could not pick a free port (node is needed: install Node 20)"
    case "$PICKED_PORTS" in *" $p "*) continue ;; esac
    PICKED_PORTS="$PICKED_PORTS$p "
    echo "$p"
    return 0
  done
  die "could not pick a free port"
}

# Loads the env file, creating it first (ports and credentials from the environment, else generated).
# Once written, the file is the source of truth: edit it to move a port; credentials are fixed once
# the data directories exist (infra/down.sh --purge starts over).
load_env() {
  if [ ! -f "$ENV_FILE" ]; then
    [ "${1:-}" = create ] || return 1
    if [ -d "$DATA_DIR/postgres" ] || [ -d "$DATA_DIR/minio" ]; then
      die "$DATA_DIR holds service data but $ENV_FILE (its credentials) is gone. Start over with 'bash infra/down.sh --purge', or restore the file."
    fi
    write_env
  fi
  # shellcheck disable=SC1090
  . "$ENV_FILE"
}

write_env() {
  mkdir -p "$HBI_INFRA_STATE"
  local pg_port kafka_port kafka_ctl_port s3_port console_port cluster_id
  pg_port="${HBI_PG_PORT:-$(free_port)}"
  kafka_port="${HBI_KAFKA_PORT:-$(free_port)}"
  kafka_ctl_port="${HBI_KAFKA_CONTROLLER_PORT:-$(free_port)}"
  s3_port="${HBI_S3_PORT:-$(free_port)}"
  console_port="${HBI_MINIO_CONSOLE_PORT:-$(free_port)}"
  local pg_user="${HBI_PG_USER:-hbi}" pg_db="${HBI_PG_DATABASE:-hbi}"
  local pg_pw="${HBI_PG_PASSWORD:-$(random_secret 24)}" pg_su_pw="${HBI_PG_SUPERUSER_PASSWORD:-$(random_secret 24)}"
  local s3_ak="${HBI_S3_ACCESS_KEY:-hbi$(random_secret 12)}" s3_sk="${HBI_S3_SECRET_KEY:-$(random_secret 32)}"
  local bucket="${HBI_S3_BUCKET:-${HBI_OBJECT_STORE_BUCKET:-hbi-videos}}"
  local topic="${HBI_KAFKA_OBJECT_EVENTS_TOPIC:-hbi.object-events}"
  # A KRaft cluster id is a base64url UUID without padding (22 characters).
  cluster_id="${HBI_KAFKA_CLUSTER_ID:-$(head -c16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=')}"
  local tmp="$ENV_FILE.tmp.$$"
  umask 077
  cat >"$tmp" <<EOF
# Generated by infra/up.sh on $(date -u +%Y-%m-%dT%H:%M:%SZ) for the services in $HBI_INFRA_STATE.
# Not in git. Load it with:  source $ENV_FILE
# Ports may be edited (then infra/down.sh && infra/up.sh); credentials are fixed once the data
# exists (infra/down.sh --purge starts over).

# PostgreSQL $HBI_PG_MAJOR + pgvector (loopback, scram-sha-256)
export HBI_PG_HOST='127.0.0.1'
export HBI_PG_PORT='$pg_port'
export HBI_PG_USER='$pg_user'
export HBI_PG_PASSWORD='$pg_pw'
export HBI_PG_DATABASE='$pg_db'
export HBI_PG_SUPERUSER_PASSWORD='$pg_su_pw'
export DATABASE_URL='postgresql://$pg_user:$pg_pw@127.0.0.1:$pg_port/$pg_db'
export HBI_DATABASE_ADMIN_URL='postgresql://postgres:$pg_su_pw@127.0.0.1:$pg_port/postgres'

# Kafka $HBI_KAFKA_VERSION (KRaft, one node acting as broker and controller, PLAINTEXT on loopback)
export HBI_KAFKA_PORT='$kafka_port'
export HBI_KAFKA_CONTROLLER_PORT='$kafka_ctl_port'
export HBI_KAFKA_CLUSTER_ID='$cluster_id'
export HBI_KAFKA_BROKERS='127.0.0.1:$kafka_port'
export KAFKA_BROKERS='127.0.0.1:$kafka_port'
# MinIO publishes the bucket's object events (s3:ObjectCreated:*, s3:ObjectRemoved:*) to this topic.
export HBI_KAFKA_OBJECT_EVENTS_TOPIC='$topic'

# MinIO (S3 API; region us-east-1; path-style URLs)
export HBI_S3_PORT='$s3_port'
export HBI_S3_ENDPOINT='http://127.0.0.1:$s3_port'
export HBI_S3_REGION='us-east-1'
export HBI_S3_ACCESS_KEY='$s3_ak'
export HBI_S3_SECRET_KEY='$s3_sk'
export HBI_S3_BUCKET='$bucket'
export HBI_MINIO_CONSOLE_PORT='$console_port'
export HBI_MINIO_NOTIFY_ARN='arn:minio:sqs::$MINIO_NOTIFY_ID:kafka'
# The platform's own setting names (src/core/config.ts) for the same services:
export HBI_OBJECT_STORE_URL='http://127.0.0.1:$s3_port'
export HBI_OBJECT_STORE_ACCESS_KEY='$s3_ak'
export HBI_OBJECT_STORE_SECRET_KEY='$s3_sk'
export HBI_OBJECT_STORE_BUCKET='$bucket'
EOF
  mv "$tmp" "$ENV_FILE"
  log "wrote $ENV_FILE (ports: postgres $pg_port, kafka $kafka_port/$kafka_ctl_port, minio $s3_port/$console_port)"
}

# ---- Java ---------------------------------------------------------------------------------------

# java_major JAVA: the feature version (17, 21, ...) from the JDK's `release` file, else from the JVM.
java_major() {
  local home v
  home="$(dirname "$(dirname "$(readlink -f "$1")")")"
  v="$(sed -n 's/^JAVA_VERSION="\([0-9]*\).*/\1/p' "$home/release" 2>/dev/null)"
  [ -n "$v" ] || v="$("$1" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = //p')"
  echo "${v%%.*}"
}

# Prints the java binary to run Kafka on: HBI_INFRA_JAVA, else Java 17 from /usr/lib/jvm, else
# JAVA_HOME's or PATH's java when it is 17 or newer.
find_java() {
  local j m
  if [ -n "${HBI_INFRA_JAVA:-}" ]; then
    echo "$HBI_INFRA_JAVA"
    return 0
  fi
  for j in /usr/lib/jvm/java-17-openjdk-*/bin/java "${JAVA_HOME:+$JAVA_HOME/bin/java}" "$(command -v java 2>/dev/null)"; do
    [ -n "$j" ] && [ -x "$j" ] || continue
    m="$(java_major "$j")"
    if [ -n "$m" ] && [ "$m" -ge 17 ]; then
      echo "$j"
      return 0
    fi
  done
  return 1
}

# ---- service probes (shared by up.sh and status.sh) ----------------------------------------------

pg_pid() { [ -f "$DATA_DIR/postgres/postmaster.pid" ] && head -n1 "$DATA_DIR/postgres/postmaster.pid" | tr -dc '0-9'; }
pg_ready() { "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$HBI_PG_PORT" -t 2 2>/dev/null; }
psql_app() { PGOPTIONS="-c client_min_messages=warning" PGPASSWORD="$HBI_PG_PASSWORD" "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$HBI_PG_PORT" -U "$HBI_PG_USER" -d "$HBI_PG_DATABASE" "$@"; }
psql_admin() { PGOPTIONS="-c client_min_messages=warning" PGPASSWORD="$HBI_PG_SUPERUSER_PASSWORD" "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$HBI_PG_PORT" -U postgres "$@"; }

kafka_pid() {
  local p
  p="$(read_pid "$RUN_DIR/kafka.pid")"
  pid_matches "$p" "kafka.Kafka $HBI_INFRA_STATE/kafka/server.properties" && echo "$p"
}
# Prints the broker's metadata as JSON; fails when it does not answer.
kafka_metadata() { node "$INFRA_DIR/lib/kafka-metadata.mjs" "127.0.0.1:$HBI_KAFKA_PORT" "${1:-3000}"; }

minio_pid() {
  local p
  p="$(read_pid "$RUN_DIR/minio.pid")"
  pid_matches "$p" "$DATA_DIR/minio" && echo "$p"
}
minio_ready() { curl -fsS -o /dev/null --max-time 2 "http://127.0.0.1:$HBI_S3_PORT/minio/health/ready" 2>/dev/null; }

# s3 METHOD PATH [curl args...]: a request to MinIO signed with AWS Signature V4 by curl itself.
s3() {
  local method="$1" path="$2"
  shift 2
  curl -sS --max-time 30 -X "$method" --aws-sigv4 "aws:amz:$HBI_S3_REGION:s3" \
    --user "$HBI_S3_ACCESS_KEY:$HBI_S3_SECRET_KEY" -H 'x-amz-content-sha256: UNSIGNED-PAYLOAD' \
    "$@" "$HBI_S3_ENDPOINT$path"
}

# s3_code METHOD PATH CURL-ARGS...: like s3 but prints only the HTTP status, and retries while MinIO
# answers 503 or 000 (no answer): right after /minio/health/ready turns green its object layer or IAM
# can still be initialising for a few seconds ("Server not initialized yet"). Gives up after
# HBI_MINIO_INIT_TIMEOUT seconds (default 60) and prints the last status seen.
s3_code() {
  local deadline=$(($(date +%s) + ${HBI_MINIO_INIT_TIMEOUT:-60})) code
  while :; do
    code="$(s3 "$@" -w '%{http_code}' 2>/dev/null || true)"
    code="${code: -3}"
    case "$code" in
      503 | 000 | "") [ "$(date +%s)" -ge "$deadline" ] && break; sleep 0.5 ;;
      *) break ;;
    esac
  done
  printf '%s' "${code:-000}"
}

# kafka_tool CLASS ARGS...: runs a Kafka command-line class from the cached jars.
kafka_tool() {
  local java
  java="$(find_java)" || die "no Java 17+ found for the Kafka tools (apt-get install openjdk-17-jre-headless)"
  [ -f "$KAFKA_LIBS/.complete" ] || die "Kafka $HBI_KAFKA_VERSION jars are not in $KAFKA_LIBS yet: run 'bash infra/up.sh kafka' first"
  "$java" -Xms32m -Xmx256m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Xshare:auto \
    -Dlog4j2.configurationFile="file:$INFRA_DIR/kafka/log4j2-tools.properties" \
    -cp "$KAFKA_LIBS/*" "$@"
}
