#!/usr/bin/env bash
# Runs one of Kafka's command-line tools from the jars infra/up.sh cached (the same classes the
# kafka-*.sh scripts of the Kafka distribution run). The broker address is not filled in for you:
# source .cache/infra/env and pass --bootstrap-server "$HBI_KAFKA_BROKERS".
#
#   bash infra/kafka-cli.sh topics --bootstrap-server "$HBI_KAFKA_BROKERS" --list
#   bash infra/kafka-cli.sh console-consumer --bootstrap-server "$HBI_KAFKA_BROKERS" \
#        --topic "$HBI_KAFKA_OBJECT_EVENTS_TOPIC" --from-beginning
#
# Tools: topics, console-producer, console-consumer, consumer-groups, configs, metadata-quorum,
# broker-api-versions, get-offsets, delete-records, features, storage; or a fully qualified class.
set -euo pipefail
# shellcheck source=lib/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

[ $# -ge 1 ] || {
  sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'
  exit 2
}
tool="$1"
shift
case "$tool" in
  topics) cls=org.apache.kafka.tools.TopicCommand ;;
  console-producer) cls=org.apache.kafka.tools.ConsoleProducer ;;
  console-consumer) cls=org.apache.kafka.tools.consumer.ConsoleConsumer ;;
  consumer-groups) cls=org.apache.kafka.tools.consumer.group.ConsumerGroupCommand ;;
  configs) cls=org.apache.kafka.tools.ConfigCommand ;;
  metadata-quorum) cls=org.apache.kafka.tools.MetadataQuorumCommand ;;
  broker-api-versions) cls=org.apache.kafka.tools.BrokerApiVersionsCommand ;;
  get-offsets) cls=org.apache.kafka.tools.GetOffsetShell ;;
  delete-records) cls=org.apache.kafka.tools.DeleteRecordsCommand ;;
  features) cls=org.apache.kafka.tools.FeatureCommand ;;
  storage) cls=kafka.tools.StorageTool ;;
  *.*) cls="$tool" ;;
  *) die "unknown tool '$tool' (see: bash infra/kafka-cli.sh)" ;;
esac
kafka_tool "$cls" "$@"
