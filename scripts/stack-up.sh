#!/usr/bin/env bash
# Provision and start the local stack: PostgreSQL 15 + TimescaleDB (built from Debian's
# source package) and Apache Kafka 4.x in KRaft mode (jars from Maven Central; STACK_KAFKA_VERSION
# picks another release, 3.9 included, for older clusters).
# Idempotent: builds and downloads are cached outside the repo; a running stack is reused.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
CACHE=${TICK_INGEST_CACHE:-/var/cache/tick-ingest}
PG_PORT=${STACK_PG_PORT:-55432}
KAFKA_PORT=${STACK_KAFKA_PORT:-59092}
CONTROLLER_PORT=${STACK_KAFKA_CONTROLLER_PORT:-59093}
KAFKA_VERSION=${STACK_KAFKA_VERSION:-4.4.0}
KAFKA_MAJOR=${KAFKA_VERSION%%.*}
# STACK_SERVICES=kafka starts a broker only (e.g. a second Kafka release beside the main stack).
SERVICES=${STACK_SERVICES:-postgres kafka}
PG_MAJOR=15
PG_BIN=/usr/lib/postgresql/$PG_MAJOR/bin
PG_EXT_DIR=/usr/share/postgresql/$PG_MAJOR/extension
# STACK_NAME runs a second, independent stack (own ports, data and .stack-NAME/ folder), e.g. for
# the fault suite, which stops and starts servers under the worker's feet.
STATE=$CACHE/state${STACK_NAME:+-$STACK_NAME}
PGDATA=$STATE/pgdata
KAFKA_DIR=$CACHE/kafka-$KAFKA_VERSION
# Per version: a broker never reads (or upgrades) another release's metadata log.
KAFKA_DATA=$STATE/kafka-data-$KAFKA_VERSION
STACK_DIR=$ROOT/.stack${STACK_NAME:+-$STACK_NAME}
DB_NAME=tick_ingest
STEP_LOG=$STACK_DIR/step.log

mkdir -p "$CACHE" "$STATE" "$STACK_DIR"

log() { printf '[stack:up] %s\n' "$*" >&2; }

# Run a step quietly; on failure name the command and show its last output lines.
run() {
  local what=$1; shift
  if ! "$@" >"$STEP_LOG" 2>&1; then
    log "FAILED: $what"
    log "command: $*"
    log "last output lines:"
    tail -n 25 "$STEP_LOG" >&2
    exit 1
  fi
}

# Wait for a condition with a deadline, so nothing hangs forever.
wait_for() {
  local what=$1 seconds=$2; shift 2
  local deadline=$((SECONDS + seconds))
  until "$@" >/dev/null 2>&1; do
    if ((SECONDS >= deadline)); then
      log "FAILED: $what did not become ready within ${seconds}s"
      return 1
    fi
    sleep 0.5
  done
}

as_pg() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

apt_updated=0
apt_install() {
  if [ "$apt_updated" = 0 ]; then run "apt-get update" apt-get update; apt_updated=1; fi
  run "apt-get install $*" env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$@"
}

ensure_packages() {
  local missing=()
  [ -x "$PG_BIN/postgres" ] || missing+=(postgresql-$PG_MAJOR)
  command -v psql >/dev/null || missing+=(postgresql-client-$PG_MAJOR)
  command -v java >/dev/null || missing+=(openjdk-17-jre-headless)
  command -v mvn >/dev/null || missing+=(maven)
  command -v kcat >/dev/null || missing+=(kcat)
  if [ ${#missing[@]} -gt 0 ]; then
    [ "$(id -u)" = 0 ] || { log "missing packages ${missing[*]}: install them (needs root)"; exit 1; }
    log "installing ${missing[*]}"
    apt_install "${missing[@]}"
  fi
}

ensure_timescaledb() {
  if [ -f "$PG_EXT_DIR/timescaledb.control" ]; then return; fi
  [ "$(id -u)" = 0 ] || { log "TimescaleDB is not installed and building it needs root"; exit 1; }
  log "building TimescaleDB from Debian's source package (once per machine)"
  apt_install postgresql-server-dev-$PG_MAJOR cmake gcc make dpkg-dev libssl-dev
  # Source index only: trixie's binaries need a newer libc than this system has.
  if ! grep -rqs 'deb-src .*trixie main' /etc/apt/sources.list.d/; then
    echo 'deb-src http://deb.debian.org/debian trixie main' >/etc/apt/sources.list.d/tick-ingest-trixie-src.list
    run "apt-get update (trixie sources)" apt-get update
  fi
  local src=$CACHE/timescaledb-src
  mkdir -p "$src"
  if ! ls "$src"/timescaledb_*.dsc >/dev/null 2>&1; then
    (cd "$src" && run "apt-get source timescaledb" apt-get source --download-only timescaledb)
  fi
  local tree
  tree=$(find "$src" -mindepth 1 -maxdepth 1 -type d -name 'timescaledb-*' | head -n 1)
  if [ -z "$tree" ]; then
    (cd "$src" && run "dpkg-source -x" dpkg-source -x timescaledb_*.dsc)
    tree=$(find "$src" -mindepth 1 -maxdepth 1 -type d -name 'timescaledb-*' | head -n 1)
  fi
  (cd "$tree" && rm -rf build &&
    run "timescaledb bootstrap" ./bootstrap -DREGRESS_CHECKS=OFF -DTAP_CHECKS=OFF -DAPACHE_ONLY=ON \
      -DWARNINGS_AS_ERRORS=OFF -DPG_CONFIG=$PG_BIN/pg_config &&
    cd build && run "timescaledb make" make -j"$(nproc)" && run "timescaledb make install" make install)
  [ -f "$PG_EXT_DIR/timescaledb.control" ] || { log "timescaledb.control missing after install"; exit 1; }
}

ensure_kafka_jars() {
  if [ -f "$KAFKA_DIR/libs/.complete" ]; then return; fi
  log "fetching Apache Kafka $KAFKA_VERSION jars from Maven Central (once per machine)"
  mkdir -p "$KAFKA_DIR"
  # The slf4j binding the distribution ships: Kafka 4 logs through log4j2 (log4j-core comes with
  # it), 3.x through reload4j.
  local binding
  if [ "$KAFKA_MAJOR" -ge 4 ]; then
    binding='<groupId>org.apache.logging.log4j</groupId><artifactId>log4j-slf4j-impl</artifactId><version>2.25.5</version>'
  else
    binding='<groupId>org.slf4j</groupId><artifactId>slf4j-reload4j</artifactId><version>1.7.36</version>'
  fi
  cat >"$KAFKA_DIR/pom.xml" <<POM
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>local.tick-ingest</groupId><artifactId>kafka-runtime</artifactId><version>1</version>
  <dependencies>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka_2.13</artifactId><version>$KAFKA_VERSION</version></dependency>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka-tools</artifactId><version>$KAFKA_VERSION</version></dependency>
    <dependency>$binding</dependency>
  </dependencies>
</project>
POM
  (cd "$KAFKA_DIR" && run "maven copy-dependencies" mvn -q -B dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory=libs)
  touch "$KAFKA_DIR/libs/.complete"
}

pg_ready() { "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT"; }

start_postgres() {
  if [ ! -f "$PGDATA/PG_VERSION" ]; then
    log "initialising PostgreSQL data folder"
    mkdir -p "$PGDATA"
    [ "$(id -u)" = 0 ] && chown -R postgres:postgres "$STATE" && chmod 755 "$CACHE" "$STATE"
    run "initdb" as_pg "$PG_BIN/initdb" -D "$PGDATA" -U postgres --auth=trust --encoding=UTF8 --locale=C.UTF-8
    cat >>"$PGDATA/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = '/tmp'
shared_preload_libraries = 'timescaledb'
timescaledb.telemetry_level = off
max_connections = 200
shared_buffers = 512MB
max_wal_size = 4GB
CONF
    printf 'local all all trust\nhost all all 127.0.0.1/32 trust\n' >"$PGDATA/pg_hba.conf"
  fi
  if pg_ready; then log "PostgreSQL already running on $PG_PORT"; return; fi
  log "starting PostgreSQL on 127.0.0.1:$PG_PORT"
  run "pg_ctl start" as_pg "$PG_BIN/pg_ctl" -D "$PGDATA" -l "$STATE/postgres.log" -w -t 60 start
  wait_for "PostgreSQL" 60 pg_ready
  as_pg cat "$PGDATA/postmaster.pid" | head -n 1 >"$STACK_DIR/postgres.pid"
  echo "$PGDATA" >"$STACK_DIR/pgdata"
}

prepare_database() {
  local q="psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p $PG_PORT -U postgres"
  if [ -z "$($q -d postgres -tAc "select 1 from pg_database where datname='$DB_NAME'")" ]; then
    run "create database" $q -d postgres -c "create database $DB_NAME"
  fi
  run "create extension timescaledb" $q -d $DB_NAME -c "create extension if not exists timescaledb"
  local ok
  ok=$($q -d $DB_NAME -tAc "select 1 from pg_extension where extname='timescaledb'")
  [ "$ok" = 1 ] || { log "timescaledb extension did not load"; exit 1; }
}

kafka_ready() { kcat -b "127.0.0.1:$KAFKA_PORT" -L -m 3 >/dev/null 2>&1; }

start_kafka() {
  if kafka_ready; then log "Kafka already running on $KAFKA_PORT"; return; fi
  local props=$STATE/server.properties
  cat >"$props" <<PROPS
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$CONTROLLER_PORT
listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT,CONTROLLER://127.0.0.1:$CONTROLLER_PORT
advertised.listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs=$KAFKA_DATA
num.partitions=3
offsets.topic.replication.factor=1
offsets.topic.num.partitions=10
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=true
message.max.bytes=10485760
PROPS
  # WARN and up to kafka.log, plus the broker's start and stop lines; the format each version reads.
  local logging
  if [ "$KAFKA_MAJOR" -ge 4 ]; then
    logging=-Dlog4j2.configurationFile="$STATE/log4j2.xml"
    cat >"$STATE/log4j2.xml" <<L4J2
<Configuration status="warn">
  <Appenders>
    <File name="file" fileName="$STATE/kafka.log"><PatternLayout pattern="[%d] %p %m (%c)%n"/></File>
  </Appenders>
  <Loggers>
    <Root level="warn"><AppenderRef ref="file"/></Root>
    <Logger name="kafka.server.KafkaRaftServer" level="info"/>
    <Logger name="kafka.server.BrokerServer" level="info"/>
  </Loggers>
</Configuration>
L4J2
  else
    logging=-Dlog4j.configuration="file:$STATE/log4j.properties"
    cat >"$STATE/log4j.properties" <<L4J
log4j.rootLogger=WARN, file
log4j.appender.file=org.apache.log4j.FileAppender
log4j.appender.file.File=$STATE/kafka.log
log4j.appender.file.layout=org.apache.log4j.PatternLayout
log4j.appender.file.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.kafka.server.KafkaServer=INFO
log4j.logger.kafka.server.BrokerServer=INFO
L4J
  fi
  local cp="$KAFKA_DIR/libs/*"
  if [ ! -f "$KAFKA_DATA/meta.properties" ]; then
    log "formatting Kafka storage"
    local id
    id=$(java -cp "$cp" kafka.tools.StorageTool random-uuid 2>/dev/null | tail -n 1)
    run "kafka storage format" java -cp "$cp" "$logging" kafka.tools.StorageTool format -t "$id" -c "$props"
  fi
  log "starting Kafka on 127.0.0.1:$KAFKA_PORT"
  nohup java -Xms256m -Xmx768m -XX:+UseG1GC "$logging" -cp "$cp" kafka.Kafka "$props" >"$STATE/kafka.out" 2>&1 </dev/null &
  echo $! >"$STACK_DIR/kafka.pid"
  if ! wait_for "Kafka" 90 kafka_ready; then
    tail -n 25 "$STATE/kafka.out" "$STATE/kafka.log" >&2 || true
    exit 1
  fi
}

wants() { [[ " $SERVICES " == *" $1 "* ]]; }

ensure_packages
if wants postgres; then
  ensure_timescaledb
  start_postgres
  prepare_database
fi
if wants kafka; then
  ensure_kafka_jars
  start_kafka
fi

{
  if wants postgres; then
    printf 'DATABASE_URL=postgres://postgres@127.0.0.1:%s/%s\n' "$PG_PORT" "$DB_NAME"
    printf 'PGHOST=127.0.0.1\nPGPORT=%s\nPGUSER=postgres\n' "$PG_PORT"
  fi
  if wants kafka; then printf 'KAFKA_BROKERS=127.0.0.1:%s\n' "$KAFKA_PORT"; fi
} >"$STACK_DIR/env"
log "ready: $(tr '\n' ' ' <"$STACK_DIR/env")"
