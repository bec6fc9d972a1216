#!/usr/bin/env bash
# The benchmark's peer: the Debezium JDBC sink connector (plus the PostgreSQL driver) as a Kafka
# Connect plugin folder, resolved from Maven Central with Maven into a cache outside the repo,
# like stack-up.sh does for Kafka, and a Kafka Connect runtime of the broker's version (3.9.1) in a
# folder of its own: the broker's libs hold connect-runtime too, but also jackson-module-scala,
# which Jackson's module discovery in the plugin then fails on ("DefaultScalaModule not a subtype").
# PEER_CONNECT_VERSION=4.1.1 (the connector's own Kafka) also runs against the 3.9 broker.
# Prints CONNECT_LIBS=<runtime jars folder> and PLUGIN_PATH=<Connect's plugin.path>. Idempotent.
#   bash scripts/peer-jars.sh
set -euo pipefail

CACHE=${TICK_INGEST_CACHE:-/var/cache/tick-ingest}
# 3.6.x needs hibernate 7.2.6, which Maven Central does not serve here; 3.5.0 resolves whole
# (built against Kafka 4.1.1; Connect's API is binary compatible, checked by the bench's run).
DEBEZIUM_VERSION=${PEER_DEBEZIUM_VERSION:-3.5.0.Final}
PG_DRIVER_VERSION=${PEER_PG_DRIVER_VERSION:-42.7.8}
CONNECT_VERSION=${PEER_CONNECT_VERSION:-3.9.1}
RUNTIME=$CACHE/peer-connect-$CONNECT_VERSION
DIR=$CACHE/peer-debezium-jdbc-$DEBEZIUM_VERSION
PLUGIN=$DIR/plugins/debezium-connector-jdbc

# Resolve Maven dependencies into a folder once: DIR (holds the throwaway pom.xml), OUT (the jars),
# what to say, the <dependency> elements, then extra arguments for copy-dependencies.
resolve_once() {
  local dir=$1 out=$2 what=$3 deps=$4
  shift 4
  [ -f "$out/.complete" ] && return
  printf '[peer-jars] resolving %s from Maven Central (once per machine)\n' "$what" >&2
  mkdir -p "$dir"
  cat >"$dir/pom.xml" <<POM
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>local.tick-ingest</groupId><artifactId>peer-$(basename "$dir")</artifactId><version>1</version>
  <dependencies>$deps</dependencies>
</project>
POM
  rm -rf "$out"
  (cd "$dir" && mvn -q -B dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$out" "$@") >&2
  touch "$out/.complete"
}

dep() { printf '<dependency><groupId>%s</groupId><artifactId>%s</artifactId><version>%s</version></dependency>' "$@"; }

# Kafka's own jars come from the runtime (a second kafka-clients in the plugin would only be
# shadowed), and so does Jackson: with a second jackson-databind in the plugin, Hibernate's module
# discovery finds the runtime's Jdk8Module and fails ("not a subtype"). The other databases'
# drivers are dead weight for Connect's plugin scan.
resolve_once "$DIR" "$PLUGIN" "io.debezium:debezium-connector-jdbc:$DEBEZIUM_VERSION" \
  "$(dep io.debezium debezium-connector-jdbc "$DEBEZIUM_VERSION")$(dep org.postgresql postgresql "$PG_DRIVER_VERSION")" \
  -DexcludeArtifactIds=connect-api,kafka-clients,slf4j-api,jackson-core,jackson-databind,jackson-annotations,ojdbc11,mssql-jdbc,mysql-connector-j,mariadb-java-client
resolve_once "$RUNTIME" "$RUNTIME/libs" "org.apache.kafka:connect-runtime:$CONNECT_VERSION" \
  "$(dep org.apache.kafka connect-runtime "$CONNECT_VERSION")$(dep org.apache.kafka connect-json "$CONNECT_VERSION")$(dep org.slf4j slf4j-reload4j 1.7.36)"
echo "CONNECT_LIBS=$RUNTIME/libs"
echo "PLUGIN_PATH=$DIR/plugins"
