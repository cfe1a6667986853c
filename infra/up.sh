#!/usr/bin/env bash
# Brings up the real services on loopback: PostgreSQL 15 + pgvector, Kafka (KRaft, one node) and
# MinIO (with its bucket events published to Kafka). Installs or builds what is missing on the first
# run, caches it, and returns in well under a second when everything is already up.
#
#   bash infra/up.sh                  # all three
#   bash infra/up.sh postgres kafka   # only these
#   source .cache/infra/env           # then: DATABASE_URL, HBI_KAFKA_BROKERS, HBI_S3_ENDPOINT, ...
#
# Where things live and every setting: infra/README.md.
set -euo pipefail
# shellcheck source=lib/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

SERVICES=()
for arg in "$@"; do
  case "$arg" in
    postgres | kafka | minio) SERVICES+=("$arg") ;;
    -h | --help)
      sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'
      exit 0
      ;;
    *) die "unknown service '$arg' (expected: postgres, kafka, minio)" ;;
  esac
done
[ ${#SERVICES[@]} -gt 0 ] || SERVICES=(postgres kafka minio)
wants() { case " ${SERVICES[*]} " in *" $1 "*) return 0 ;; esac; return 1; }

T0="$(now_ms)"
mkdir -p "$HBI_INFRA_STATE" "$LOG_DIR" "$RUN_DIR" "$DATA_DIR" "$HBI_INFRA_CACHE/logs"
chmod 700 "$HBI_INFRA_STATE" 2>/dev/null || true
command -v node >/dev/null || die "node is needed (Node 20, the project's runtime)"
command -v curl >/dev/null || die "curl is needed (apt-get install curl)"

# One up.sh or down.sh at a time per state folder.
exec 9>"$HBI_INFRA_STATE/.lock"
flock -w 1800 9 || die "another infra/up.sh or down.sh holds $HBI_INFRA_STATE/.lock"

load_env create
# As root the directory must stay reachable by the postgres user (see pg_init).
is_root && chmod 711 "$HBI_INFRA_STATE" "$DATA_DIR"

# ---- apt ------------------------------------------------------------------------------------------

APT_UPDATED=""
apt_install() {
  is_root || die "missing Debian packages: run 'sudo apt-get install -y $*' (or this script as root)"
  if [ -z "$APT_UPDATED" ]; then
    log "apt-get update"
    apt-get -o DPkg::Lock::Timeout=600 update -qq >>"$LOG_DIR/apt.log" 2>&1 || {
      tail_log "$LOG_DIR/apt.log"
      die "apt-get update failed (see $LOG_DIR/apt.log)"
    }
    APT_UPDATED=1
  fi
  log "apt-get install $*"
  DEBIAN_FRONTEND=noninteractive nice -n 19 apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "$@" >>"$LOG_DIR/apt.log" 2>&1 || {
    tail_log "$LOG_DIR/apt.log"
    die "apt-get install $* failed (see $LOG_DIR/apt.log)"
  }
}

# ---- MinIO build (started first, in the background: it takes minutes on a cold machine) ------------

MINIO_BUILD_PID=""
MINIO_BUILD_LOG="$HBI_INFRA_CACHE/logs/minio-build.log"
minio_build() {
  # Runs in a subshell. Builds into a temporary GOBIN, then moves the binary into the cache.
  local version="$1" out
  out="$HBI_INFRA_CACHE/minio/$version"
  mkdir -p "$out"
  exec 8>"$HBI_INFRA_CACHE/minio/.build.lock"
  flock 8
  [ -x "$out/bin/minio" ] && return 0
  rm -rf "$out/bin.tmp"
  echo "== go install github.com/minio/minio@$version ($(go version), $(date -u +%FT%TZ))"
  # Two busy cores: one compile at a time, lowest priority.
  GOBIN="$out/bin.tmp" GOFLAGS="-buildvcs=false -p=1" GOMAXPROCS=1 \
    nice -n 19 go install "github.com/minio/minio@$version" || return 1
  mv "$out/bin.tmp" "$out/bin"
}
minio_build_start() {
  [ -x "$MINIO_BIN" ] && return 0
  command -v go >/dev/null || die "Go (1.24 or newer) is needed to build MinIO: 'go install github.com/minio/minio@$HBI_MINIO_VERSION'"
  log "building MinIO $HBI_MINIO_VERSION with the Go toolchain in the background (several minutes; log: $MINIO_BUILD_LOG)"
  (minio_build "$HBI_MINIO_VERSION") >>"$MINIO_BUILD_LOG" 2>&1 9>&- &
  MINIO_BUILD_PID=$!
}
minio_build_wait() {
  [ -x "$MINIO_BIN" ] && return 0
  if [ -n "$MINIO_BUILD_PID" ]; then
    log "waiting for the MinIO build (log: $MINIO_BUILD_LOG)"
    wait "$MINIO_BUILD_PID" || true
  fi
  [ -x "$MINIO_BIN" ] && return 0
  tail_log "$MINIO_BUILD_LOG"
  # The pinned commit did not build: try whatever @latest is now before giving up.
  local latest
  latest="$(GOFLAGS=-mod=mod go list -m -f '{{.Version}}' github.com/minio/minio@latest 2>/dev/null || true)"
  if [ -n "$latest" ] && [ "$latest" != "$HBI_MINIO_VERSION" ]; then
    warn "MinIO $HBI_MINIO_VERSION did not build; trying @latest = $latest"
    if (minio_build "$latest") >>"$MINIO_BUILD_LOG" 2>&1; then
      HBI_MINIO_VERSION="$latest"
      MINIO_BIN="$HBI_INFRA_CACHE/minio/$latest/bin/minio"
      warn "built MinIO $latest; pin it with HBI_MINIO_VERSION=$latest (infra/lib/common.sh)"
      return 0
    fi
    tail_log "$MINIO_BUILD_LOG"
  fi
  die "building MinIO failed (log: $MINIO_BUILD_LOG). Check that the Go module proxy is reachable ('go list -m github.com/minio/minio@latest') and that Go is 1.24 or newer; or set HBI_MINIO_VERSION to another commit."
}

# ---- PostgreSQL + pgvector ---------------------------------------------------------------------------

PGDATA_DIR="$DATA_DIR/postgres"
PG_LOG="$LOG_DIR/postgres.log"
PG_USER_OS="$(is_root && echo postgres || id -un)"
as_pg() { if is_root; then runuser -u postgres -- "$@"; else "$@"; fi; }

ensure_postgres() {
  [ -x "$PG_BIN/postgres" ] && return 0
  if is_root; then
    apt-get -o DPkg::Lock::Timeout=600 update -qq >>"$LOG_DIR/apt.log" 2>&1 && APT_UPDATED=1
    if ! apt-cache show "postgresql-$HBI_PG_MAJOR" >/dev/null 2>&1; then
      die "this machine's Debian sources offer no postgresql-$HBI_PG_MAJOR (they have: $(apt-cache search --names-only '^postgresql-[0-9]+$' | cut -d' ' -f1 | tr '\n' ' ')). Set HBI_PG_MAJOR to one of those."
    fi
  fi
  apt_install "postgresql-$HBI_PG_MAJOR"
}

debian_mirror() {
  if [ -n "${HBI_DEBIAN_MIRROR:-}" ]; then
    echo "$HBI_DEBIAN_MIRROR"
    return
  fi
  local m
  m="$(grep -h -E '^URIs:' /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '{print $2}' | grep -v security | head -n1 || true)"
  [ -n "$m" ] || m="$(grep -h -E '^deb ' /etc/apt/sources.list 2>/dev/null | awk '{for(i=2;i<=NF;i++) if ($i ~ /^https?:/) {print $i; exit}}' | grep -v security | head -n1 || true)"
  echo "${m:-http://deb.debian.org/debian}"
}

ensure_pgvector() {
  local ext="/usr/share/postgresql/$HBI_PG_MAJOR/extension/vector.control" so="/usr/lib/postgresql/$HBI_PG_MAJOR/lib/vector.so" v
  if [ -f "$ext" ] && [ -f "$so" ]; then
    v="$(sed -n "s/^default_version = '\(.*\)'/\1/p" "$ext")"
    dpkg --compare-versions "$v" ge "$HBI_PGVECTOR_MIN" && return 0
    log "pgvector $v is installed; $HBI_PGVECTOR_MIN or newer is wanted: building it"
  fi
  [ -x "$PG_BIN/pg_config" ] && [ -f "/usr/include/postgresql/$HBI_PG_MAJOR/server/postgres.h" ] || apt_install "postgresql-server-dev-$HBI_PG_MAJOR"
  command -v make >/dev/null && command -v gcc >/dev/null || apt_install make gcc
  command -v dpkg-source >/dev/null || apt_install dpkg-dev

  local base="$HBI_INFRA_CACHE/pgvector" build
  build="$(ls -d "$base"/build-*-pg"$HBI_PG_MAJOR" 2>/dev/null | tail -n1 || true)"
  if [ -z "$build" ] || [ ! -f "$build/vector.so" ]; then
    log "fetching pgvector's source package from Debian $HBI_PGVECTOR_SUITE (temporary sources list; the system's stays as it is)"
    mkdir -p "$base/apt/lists/partial" "$base/apt/archives/partial" "$base/src"
    echo "deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $(debian_mirror) $HBI_PGVECTOR_SUITE main" >"$base/apt/sources.list"
    local opts=(-o "Dir::Etc::sourcelist=$base/apt/sources.list" -o Dir::Etc::sourceparts=- -o "Dir::State::Lists=$base/apt/lists"
      -o "Dir::Cache::archives=$base/apt/archives" -o APT::Get::List-Cleanup=0 -o APT::Sandbox::User=root)
    rm -rf "$base/src" && mkdir -p "$base/src"
    (cd "$base/src" && apt-get "${opts[@]}" update -qq && apt-get "${opts[@]}" source --download-only pgvector) >>"$HBI_INFRA_CACHE/logs/pgvector.log" 2>&1 || {
      tail_log "$HBI_INFRA_CACHE/logs/pgvector.log"
      die "could not fetch pgvector's source from Debian $HBI_PGVECTOR_SUITE (log: $HBI_INFRA_CACHE/logs/pgvector.log); set HBI_DEBIAN_MIRROR or HBI_PGVECTOR_SUITE"
    }
    local dsc ver
    dsc="$(ls "$base"/src/pgvector_*.dsc | head -n1)"
    ver="$(sed -n 's/^Version: //p' "$dsc")"
    build="$base/build-$ver-pg$HBI_PG_MAJOR"
    rm -rf "$build"
    dpkg-source -x "$dsc" "$build" >>"$HBI_INFRA_CACHE/logs/pgvector.log" 2>&1 || die "dpkg-source could not unpack $dsc"
    log "building pgvector $ver against PostgreSQL $HBI_PG_MAJOR"
    nice -n 19 make -C "$build" PG_CONFIG="$PG_BIN/pg_config" >>"$HBI_INFRA_CACHE/logs/pgvector.log" 2>&1 || {
      tail_log "$HBI_INFRA_CACHE/logs/pgvector.log"
      die "building pgvector failed (log: $HBI_INFRA_CACHE/logs/pgvector.log)"
    }
  fi
  is_root || die "installing pgvector into /usr/lib/postgresql needs root: sudo make -C $build install PG_CONFIG=$PG_BIN/pg_config"
  make -C "$build" install PG_CONFIG="$PG_BIN/pg_config" >>"$HBI_INFRA_CACHE/logs/pgvector.log" 2>&1 || {
    tail_log "$HBI_INFRA_CACHE/logs/pgvector.log"
    die "installing pgvector failed (log: $HBI_INFRA_CACHE/logs/pgvector.log)"
  }
  log "installed pgvector $(sed -n "s/^default_version = '\(.*\)'/\1/p" "$ext")"
}

pg_init() {
  [ -f "$PGDATA_DIR/PG_VERSION" ] && return 0
  log "initialising a PostgreSQL $HBI_PG_MAJOR cluster in $PGDATA_DIR (owner: $PG_USER_OS)"
  rm -rf "$PGDATA_DIR"
  mkdir -p "$PGDATA_DIR"
  chmod 700 "$PGDATA_DIR"
  if is_root; then
    id postgres >/dev/null 2>&1 || die "the postgres system user is missing (it comes with Debian's postgresql-common package)"
    chown postgres:postgres "$PGDATA_DIR"
    as_pg test -w "$PGDATA_DIR" || die "the postgres user cannot reach $PGDATA_DIR: make its parent folders searchable (chmod o+x on each) or set HBI_INFRA_STATE to a folder under /var/tmp"
  fi
  local pw
  pw="$(mktemp)"
  printf '%s\n' "$HBI_PG_SUPERUSER_PASSWORD" >"$pw"
  is_root && chown postgres "$pw"
  if ! as_pg "$PG_BIN/initdb" -D "$PGDATA_DIR" -U postgres --pwfile="$pw" --auth-host=scram-sha-256 --auth-local=scram-sha-256 \
    -E UTF8 --locale=C.UTF-8 >"$LOG_DIR/postgres-initdb.log" 2>&1; then
    rm -f "$pw"
    tail_log "$LOG_DIR/postgres-initdb.log"
    rm -rf "$PGDATA_DIR"
    die "initdb failed (log: $LOG_DIR/postgres-initdb.log)"
  fi
  rm -f "$pw"
  cat >>"$PGDATA_DIR/postgresql.conf" <<'EOF'

# --- hbi-platform infra/up.sh ---
listen_addresses = '127.0.0.1'
unix_socket_directories = ''
max_connections = 200
maintenance_work_mem = '256MB'
log_line_prefix = '%m [%p] %q%u@%d '
EOF
}

pg_start() {
  local pid
  pid="$(pg_pid || true)"
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && pg_ready; then
    PG_STATE="already up"
    return 0
  fi
  if port_open "$HBI_PG_PORT"; then
    die "port $HBI_PG_PORT (HBI_PG_PORT) is taken by another process; free it or edit HBI_PG_PORT in $ENV_FILE"
  fi
  touch "$PG_LOG"
  is_root && chown postgres "$PG_LOG"
  log "starting PostgreSQL on 127.0.0.1:$HBI_PG_PORT"
  if ! as_pg "$PG_BIN/pg_ctl" -D "$PGDATA_DIR" -l "$PG_LOG" -w -t 90 -o "-p $HBI_PG_PORT" start >/dev/null 2>>"$PG_LOG" 9>&-; then
    tail_log "$PG_LOG"
    die "PostgreSQL did not start (log: $PG_LOG)"
  fi
  local i
  for i in $(seq 1 60); do
    pg_ready && break
    [ "$i" = 60 ] && die "PostgreSQL started but pg_isready still fails after 30 s (log: $PG_LOG)"
    sleep 0.5
  done
  # Roles, database and the extension: idempotent, run on every start.
  local exists
  exists="$(psql_admin -d postgres -tAc "SELECT 1 FROM pg_roles WHERE rolname = '$HBI_PG_USER'")"
  if [ "$exists" != 1 ]; then
    psql_admin -d postgres -c "CREATE ROLE \"$HBI_PG_USER\" LOGIN CREATEDB PASSWORD '$HBI_PG_PASSWORD'" >/dev/null
  fi
  exists="$(psql_admin -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = '$HBI_PG_DATABASE'")"
  if [ "$exists" != 1 ]; then
    psql_admin -d postgres -c "CREATE DATABASE \"$HBI_PG_DATABASE\" OWNER \"$HBI_PG_USER\"" >/dev/null
  fi
  # pgvector is not a trusted extension: the superuser creates it (in template1 too, so databases
  # that tests create with CREATEDB have it).
  psql_admin -d "$HBI_PG_DATABASE" -c 'CREATE EXTENSION IF NOT EXISTS vector' >/dev/null
  psql_admin -d template1 -c 'CREATE EXTENSION IF NOT EXISTS vector' >/dev/null
  psql_app -tAc 'SELECT 1' >/dev/null || die "PostgreSQL is up but $HBI_PG_USER cannot log in to $HBI_PG_DATABASE (log: $PG_LOG)"
  PG_STATE="started"
}

# ---- Kafka -------------------------------------------------------------------------------------

KAFKA_CONF="$HBI_INFRA_STATE/kafka/server.properties"
ensure_kafka() {
  KAFKA_JAVA="$(find_java || true)"
  if [ -z "$KAFKA_JAVA" ]; then
    apt_install openjdk-17-jre-headless
    KAFKA_JAVA="$(find_java)" || die "no Java 17+ after installing openjdk-17-jre-headless"
  fi
  [ -f "$KAFKA_LIBS/.complete" ] && return 0
  command -v mvn >/dev/null || apt_install maven
  local tmp="$KAFKA_LIBS.tmp.$$" mlog="$HBI_INFRA_CACHE/logs/kafka-resolve.log"
  log "resolving Apache Kafka $HBI_KAFKA_VERSION (kafka_2.13 + kafka-tools) and its runtime dependencies from Maven Central"
  rm -rf "$tmp"
  if ! JAVA_HOME="$(dirname "$(dirname "$(readlink -f "$KAFKA_JAVA")")")" nice -n 19 mvn -B -q -f "$INFRA_DIR/kafka/pom.xml" \
    -Dmaven.repo.local="$HBI_INFRA_CACHE/m2" -Dkafka.version="$HBI_KAFKA_VERSION" \
    org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy-dependencies \
    -DincludeScope=runtime -DoutputDirectory="$tmp" >"$mlog" 2>&1; then
    tail_log "$mlog"
    die "Maven could not resolve org.apache.kafka:kafka_2.13:$HBI_KAFKA_VERSION (log: $mlog). Set HBI_KAFKA_VERSION to a version Maven Central serves here."
  fi
  rm -rf "$KAFKA_LIBS"
  mv "$tmp" "$KAFKA_LIBS"
  touch "$KAFKA_LIBS/.complete"
}

kafka_write_config() {
  mkdir -p "$(dirname "$KAFKA_CONF")" "$DATA_DIR/kafka"
  cat >"$KAFKA_CONF" <<EOF
# Written by infra/up.sh on every start from $ENV_FILE; edits here are overwritten.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$HBI_KAFKA_CONTROLLER_PORT
listeners=PLAINTEXT://127.0.0.1:$HBI_KAFKA_PORT,CONTROLLER://127.0.0.1:$HBI_KAFKA_CONTROLLER_PORT
advertised.listeners=PLAINTEXT://127.0.0.1:$HBI_KAFKA_PORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$DATA_DIR/kafka
num.partitions=1
default.replication.factor=1
min.insync.replicas=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=10
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=10
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
num.network.threads=2
num.io.threads=4
log.retention.hours=168
EOF
}

# kafka_launch: starts the broker process (formatting storage the first time); kafka_wait then
# waits for it to answer. PostgreSQL starts in between, while the JVM boots.
KAFKA_PID=""
kafka_launch() {
  local pid
  pid="$(kafka_pid || true)"
  if [ -n "$pid" ]; then
    log "Kafka (pid $pid) runs but does not answer yet: waiting for it"
  else
    for p in "$HBI_KAFKA_PORT" "$HBI_KAFKA_CONTROLLER_PORT"; do
      port_open "$p" && die "port $p is taken by another process; free it or edit HBI_KAFKA_PORT/HBI_KAFKA_CONTROLLER_PORT in $ENV_FILE"
    done
    kafka_write_config
    if [ ! -f "$DATA_DIR/kafka/meta.properties" ]; then
      log "formatting Kafka storage in $DATA_DIR/kafka (cluster id $HBI_KAFKA_CLUSTER_ID)"
      kafka_tool kafka.tools.StorageTool format --cluster-id="$HBI_KAFKA_CLUSTER_ID" -c "$KAFKA_CONF" >"$LOG_DIR/kafka-format.log" 2>&1 || {
        tail_log "$LOG_DIR/kafka-format.log"
        die "formatting Kafka storage failed (log: $LOG_DIR/kafka-format.log)"
      }
    fi
    log "starting Kafka $HBI_KAFKA_VERSION on 127.0.0.1:$HBI_KAFKA_PORT (controller :$HBI_KAFKA_CONTROLLER_PORT, $KAFKA_JAVA)"
    # shellcheck disable=SC2086
    setsid nohup "$KAFKA_JAVA" ${HBI_KAFKA_HEAP_OPTS:--Xms256m -Xmx1g} -XX:+UseG1GC -XX:MaxGCPauseMillis=20 \
      -Djava.awt.headless=true -Dkafka.logs.dir="$LOG_DIR" \
      -Dlog4j2.configurationFile="file:$INFRA_DIR/kafka/log4j2-broker.properties" \
      -cp "$KAFKA_LIBS/*" kafka.Kafka "$KAFKA_CONF" >>"$LOG_DIR/kafka.out" 2>&1 </dev/null 9>&- &
    pid=$!
    echo "$pid" >"$RUN_DIR/kafka.pid"
  fi
  KAFKA_PID="$pid"
}

kafka_wait() {
  local pid="$KAFKA_PID"
  local deadline=$(($(date +%s) + ${HBI_KAFKA_START_TIMEOUT:-180}))
  until kafka_metadata 2000 >/dev/null 2>&1; do
    if ! kill -0 "$pid" 2>/dev/null; then
      tail_log "$LOG_DIR/kafka.out" 15
      tail_log "$LOG_DIR/kafka.log"
      die "Kafka exited while starting (logs: $LOG_DIR/kafka.log, $LOG_DIR/kafka.out)"
    fi
    if [ "$(date +%s)" -ge "$deadline" ]; then
      tail_log "$LOG_DIR/kafka.log"
      die "Kafka did not answer a metadata request on 127.0.0.1:$HBI_KAFKA_PORT within ${HBI_KAFKA_START_TIMEOUT:-180} s (log: $LOG_DIR/kafka.log); it is left running: bash infra/down.sh kafka"
    fi
    sleep 0.5
  done
  # The topic MinIO publishes object events to (created here so that its partitions are ours).
  if ! kafka_metadata | grep -qF "\"$HBI_KAFKA_OBJECT_EVENTS_TOPIC\""; then
    log "creating topic $HBI_KAFKA_OBJECT_EVENTS_TOPIC"
    kafka_tool org.apache.kafka.tools.TopicCommand --bootstrap-server "$HBI_KAFKA_BROKERS" --create --if-not-exists \
      --topic "$HBI_KAFKA_OBJECT_EVENTS_TOPIC" --partitions "${HBI_KAFKA_OBJECT_EVENTS_PARTITIONS:-3}" --replication-factor 1 \
      >>"$LOG_DIR/kafka-topics.log" 2>&1 || {
      tail_log "$LOG_DIR/kafka-topics.log"
      die "creating topic $HBI_KAFKA_OBJECT_EVENTS_TOPIC failed (log: $LOG_DIR/kafka-topics.log)"
    }
  fi
  KAFKA_STATE="started"
}

# ---- MinIO -------------------------------------------------------------------------------------

minio_start() {
  local pid
  pid="$(minio_pid || true)"
  if [ -n "$pid" ] && minio_ready; then
    MINIO_STATE="already up"
    return 0
  fi
  minio_build_wait
  if [ -z "$pid" ]; then
    for p in "$HBI_S3_PORT" "$HBI_MINIO_CONSOLE_PORT"; do
      port_open "$p" && die "port $p is taken by another process; free it or edit HBI_S3_PORT/HBI_MINIO_CONSOLE_PORT in $ENV_FILE"
    done
    mkdir -p "$DATA_DIR/minio" "$DATA_DIR/minio-events"
    log "starting MinIO on 127.0.0.1:$HBI_S3_PORT (console :$HBI_MINIO_CONSOLE_PORT; bucket events -> Kafka topic $HBI_KAFKA_OBJECT_EVENTS_TOPIC)"
    # Bucket notifications go to Kafka through the target <ID>=$MINIO_NOTIFY_ID; events wait in the
    # queue folder while Kafka is away.
    env MINIO_ROOT_USER="$HBI_S3_ACCESS_KEY" MINIO_ROOT_PASSWORD="$HBI_S3_SECRET_KEY" \
      MINIO_SITE_REGION="$HBI_S3_REGION" MINIO_UPDATE=off MINIO_BROWSER=off \
      "MINIO_NOTIFY_KAFKA_ENABLE_$MINIO_NOTIFY_ID=on" \
      "MINIO_NOTIFY_KAFKA_BROKERS_$MINIO_NOTIFY_ID=$HBI_KAFKA_BROKERS" \
      "MINIO_NOTIFY_KAFKA_TOPIC_$MINIO_NOTIFY_ID=$HBI_KAFKA_OBJECT_EVENTS_TOPIC" \
      "MINIO_NOTIFY_KAFKA_QUEUE_DIR_$MINIO_NOTIFY_ID=$DATA_DIR/minio-events" \
      setsid nohup "$MINIO_BIN" server --quiet --address "127.0.0.1:$HBI_S3_PORT" \
      --console-address "127.0.0.1:$HBI_MINIO_CONSOLE_PORT" "$DATA_DIR/minio" >>"$LOG_DIR/minio.log" 2>&1 </dev/null 9>&- &
    pid=$!
    echo "$pid" >"$RUN_DIR/minio.pid"
  fi
  local deadline=$(($(date +%s) + ${HBI_MINIO_START_TIMEOUT:-60}))
  until minio_ready; do
    if ! kill -0 "$pid" 2>/dev/null; then
      tail_log "$LOG_DIR/minio.log"
      die "MinIO exited while starting (log: $LOG_DIR/minio.log)"
    fi
    [ "$(date +%s)" -ge "$deadline" ] && die "MinIO did not report ready on /minio/health/ready within ${HBI_MINIO_START_TIMEOUT:-60} s (log: $LOG_DIR/minio.log)"
    sleep 0.3
  done
  # The bucket and its notification rule (both idempotent).
  local code
  code="$(s3_code HEAD "/$HBI_S3_BUCKET" -o /dev/null -I)"
  if [ "$code" = 404 ]; then
    code="$(s3_code PUT "/$HBI_S3_BUCKET" -o "$LOG_DIR/minio-s3.out")"
    [ "$code" = 200 ] || [ "$code" = 409 ] || die "creating bucket $HBI_S3_BUCKET failed: HTTP $code $(cat "$LOG_DIR/minio-s3.out" 2>/dev/null)"
  elif [ "$code" != 200 ]; then
    die "MinIO answered HTTP $code for bucket $HBI_S3_BUCKET (wrong credentials in $ENV_FILE? log: $LOG_DIR/minio.log)"
  fi
  local xml
  xml="<NotificationConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><QueueConfiguration><Id>hbi-object-events</Id><Queue>$HBI_MINIO_NOTIFY_ARN</Queue><Event>s3:ObjectCreated:*</Event><Event>s3:ObjectRemoved:*</Event></QueueConfiguration></NotificationConfiguration>"
  code="$(s3_code PUT "/$HBI_S3_BUCKET?notification=" -H 'content-type: application/xml' --data-binary "$xml" -o "$LOG_DIR/minio-s3.out")"
  [ "$code" = 200 ] || die "setting the Kafka notification on bucket $HBI_S3_BUCKET failed: HTTP $code $(cat "$LOG_DIR/minio-s3.out" 2>/dev/null) (log: $LOG_DIR/minio.log)"
  MINIO_STATE="started"
}

# ---- run ---------------------------------------------------------------------------------------

PG_STATE="-" KAFKA_STATE="-" MINIO_STATE="-"
wants minio && [ -z "$(minio_pid || true)" ] && minio_build_start
# Each service: nothing to do when its process lives and answers (the warm path: three probes).
if wants kafka; then
  TK="$(now_ms)"
  if [ -n "$(kafka_pid || true)" ] && kafka_metadata 2000 >/dev/null 2>&1; then
    KAFKA_STATE="already up in $(since_ms "$TK")"
  else
    ensure_kafka
    kafka_launch
  fi
fi
if wants postgres; then
  t="$(now_ms)"
  pid="$(pg_pid || true)"
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && pg_ready; then
    PG_STATE="already up"
  else
    ensure_postgres
    ensure_pgvector
    pg_init
    pg_start
  fi
  PG_STATE="$PG_STATE in $(since_ms "$t")"
fi
if [ -n "$KAFKA_PID" ]; then
  kafka_wait
  KAFKA_STATE="$KAFKA_STATE in $(since_ms "$TK")"
fi
if wants minio; then
  t="$(now_ms)"
  minio_start
  MINIO_STATE="$MINIO_STATE in $(since_ms "$t")"
fi

log "postgres: $PG_STATE; kafka: $KAFKA_STATE; minio: $MINIO_STATE; total $(since_ms "$T0")"
log "settings: source $ENV_FILE"
