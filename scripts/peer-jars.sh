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

if [ ! -f "$PLUGIN/.complete" ]; then
  printf '[peer-jars] resolving io.debezium:debezium-connector-jdbc:%s from Maven Central (once per machine)\n' \
    "$DEBEZIUM_VERSION" >&2
  mkdir -p "$DIR"
  cat >"$DIR/pom.xml" <<POM
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>local.tick-ingest</groupId><artifactId>peer-connect-plugin</artifactId><version>1</version>
  <dependencies>
    <dependency><groupId>io.debezium</groupId><artifactId>debezium-connector-jdbc</artifactId><version>$DEBEZIUM_VERSION</version></dependency>
    <dependency><groupId>org.postgresql</groupId><artifactId>postgresql</artifactId><version>$PG_DRIVER_VERSION</version></dependency>
  </dependencies>
</project>
POM
  rm -rf "$PLUGIN"
  # Kafka's own jars come from the runtime (a second kafka-clients in the plugin would only be
  # shadowed), and so does Jackson: with a second jackson-databind in the plugin, Hibernate's module
  # discovery finds the runtime's Jdk8Module and fails ("not a subtype"). The other databases'
  # drivers are dead weight for Connect's plugin scan.
  (cd "$DIR" && mvn -q -B dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$PLUGIN" \
    -DexcludeArtifactIds=connect-api,kafka-clients,slf4j-api,jackson-core,jackson-databind,jackson-annotations,ojdbc11,mssql-jdbc,mysql-connector-j,mariadb-java-client) >&2
  touch "$PLUGIN/.complete"
fi
if [ ! -f "$RUNTIME/libs/.complete" ]; then
  printf '[peer-jars] resolving org.apache.kafka:connect-runtime:%s from Maven Central (once per machine)\n' \
    "$CONNECT_VERSION" >&2
  mkdir -p "$RUNTIME"
  cat >"$RUNTIME/pom.xml" <<POM
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>local.tick-ingest</groupId><artifactId>peer-connect-runtime</artifactId><version>1</version>
  <dependencies>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>connect-runtime</artifactId><version>$CONNECT_VERSION</version></dependency>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>connect-json</artifactId><version>$CONNECT_VERSION</version></dependency>
    <dependency><groupId>org.slf4j</groupId><artifactId>slf4j-reload4j</artifactId><version>1.7.36</version></dependency>
  </dependencies>
</project>
POM
  rm -rf "$RUNTIME/libs"
  (cd "$RUNTIME" && mvn -q -B dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory=libs) >&2
  touch "$RUNTIME/libs/.complete"
fi
echo "CONNECT_LIBS=$RUNTIME/libs"
echo "PLUGIN_PATH=$DIR/plugins"
