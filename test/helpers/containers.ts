// Integration servers as containers, for machines with a Docker engine. Same images and versions
// as docker-compose.yml.
import { GenericContainer, Wait } from "testcontainers";
import type { ResolvedEndpoints } from "./endpoints.ts";
import { freePort } from "./ports.ts";

export async function startContainers(): Promise<ResolvedEndpoints> {
  // Kafka advertises the host port, so the port is chosen before the container starts.
  const kafkaPort = await freePort();
  const [kafka, registry, clickhouse] = await Promise.all([
    new GenericContainer("apache/kafka:4.1.1")
      .withExposedPorts({ container: 9092, host: kafkaPort })
      .withEnvironment({
        KAFKA_NODE_ID: "1",
        KAFKA_PROCESS_ROLES: "broker,controller",
        KAFKA_LISTENERS: "PLAINTEXT://:9092,CONTROLLER://:9093",
        KAFKA_ADVERTISED_LISTENERS: `PLAINTEXT://127.0.0.1:${kafkaPort}`,
        KAFKA_CONTROLLER_LISTENER_NAMES: "CONTROLLER",
        KAFKA_LISTENER_SECURITY_PROTOCOL_MAP: "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
        KAFKA_CONTROLLER_QUORUM_VOTERS: "1@localhost:9093",
        KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR: "1",
        KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR: "1",
        KAFKA_TRANSACTION_STATE_LOG_MIN_ISR: "1",
        KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS: "0",
      })
      .withWaitStrategy(Wait.forLogMessage(/Kafka Server started/))
      .start(),
    new GenericContainer("apicurio/apicurio-registry:3.3.3")
      .withExposedPorts(8080)
      .withWaitStrategy(Wait.forHttp("/apis/ccompat/v7/subjects", 8080))
      .start(),
    new GenericContainer("clickhouse/clickhouse-server:25.8")
      .withExposedPorts(8123)
      .withEnvironment({ CLICKHOUSE_SKIP_USER_SETUP: "1" })
      .withWaitStrategy(Wait.forHttp("/ping", 8123))
      .start(),
  ]);
  return {
    endpoints: {
      source: "testcontainers",
      kafkaBrokers: [`127.0.0.1:${kafkaPort}`],
      schemaRegistryUrl: `http://${registry.getHost()}:${registry.getMappedPort(8080)}/apis/ccompat/v7`,
      clickhouseUrl: `http://${clickhouse.getHost()}:${clickhouse.getMappedPort(8123)}`,
      clickhouseUser: "default",
      clickhousePassword: "",
    },
    teardown: async () => {
      await Promise.all([kafka.stop(), registry.stop(), clickhouse.stop()]);
    },
  };
}
