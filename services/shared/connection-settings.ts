// Settings every service shares: how to reach Kafka, the schema registry and ClickHouse, which
// pipelines to run, logging and shutdown.
// Defaults match the local stack (`npm run stack:up`) and docker-compose.yml.
import { type ConfigOf, type Environment, loadConfig, parse, secretFromFile, setting } from "./config.ts";
import { StreamscoreError } from "./errors.ts";

export const connectionSettings = {
  KAFKA_BROKERS: setting(parse.list(), { default: "127.0.0.1:9092", doc: "Comma-separated Kafka bootstrap servers." }),
  KAFKA_CLIENT_ID: setting(parse.string(), { default: "streamscore", doc: "Client id prefix sent to Kafka." }),
  KAFKA_SASL_MECHANISM: setting(parse.oneOf(["none", "plain", "scram-sha-256", "scram-sha-512"]), {
    default: "none",
    doc: "SASL mechanism for Kafka; anything but none needs KAFKA_SASL_USERNAME and a password (or password file).",
  }),
  KAFKA_SASL_USERNAME: setting(parse.optionalString(), { doc: "Kafka SASL user name." }),
  KAFKA_SASL_PASSWORD: setting(parse.optionalString(), { doc: "Kafka SASL password.", secret: true }),
  KAFKA_SASL_PASSWORD_FILE: setting(parse.optionalString(), {
    doc: "File holding the Kafka SASL password (wins over KAFKA_SASL_PASSWORD); the secured stack writes them.",
  }),
  KAFKA_SSL: setting(parse.boolean(), { default: "false", doc: "Connect to Kafka over TLS." }),
  KAFKA_SSL_CA_FILE: setting(parse.optionalString(), {
    doc: "PEM file of the CA that signed the brokers' certificates.",
  }),
  SCHEMA_REGISTRY_URL: setting(parse.url(), {
    default: "http://127.0.0.1:8085/apis/ccompat/v7",
    doc: "Confluent-compatible schema registry base URL (Apicurio's ccompat API locally).",
  }),
  SCHEMA_REGISTRY_USERNAME: setting(parse.optionalString(), { doc: "Schema registry basic-auth user." }),
  SCHEMA_REGISTRY_PASSWORD: setting(parse.optionalString(), {
    doc: "Schema registry basic-auth password.",
    secret: true,
  }),
  CLICKHOUSE_URL: setting(parse.url(), { default: "http://127.0.0.1:8123", doc: "ClickHouse HTTP endpoint." }),
  CLICKHOUSE_DATABASE: setting(parse.string(), { default: "streamscore", doc: "ClickHouse database for all tables." }),
  CLICKHOUSE_USER: setting(parse.string(), {
    default: "default",
    doc: "ClickHouse user the services run as; the local stack starts them as `streamscore_writer` (no DDL).",
  }),
  CLICKHOUSE_PASSWORD: setting(parse.string(), { default: "", doc: "ClickHouse password.", secret: true }),
  CLICKHOUSE_PASSWORD_FILE: setting(parse.optionalString(), {
    doc: "File holding the ClickHouse password (wins over CLICKHOUSE_PASSWORD); the local stack writes the writer's.",
  }),
  PIPELINES: setting(parse.list(), {
    default: "payments,iris",
    doc: "Pipelines a service handles; `name=definition` runs a shipped definition under another name.",
  }),
  MODELS_ROOT: setting(parse.optionalString(), {
    doc: "Folder the model directories of pipeline definitions are relative to (default: the project root).",
  }),
  SHUTDOWN_TIMEOUT_MS: setting(parse.positiveInt(), { default: "20000", doc: "Bound on a graceful shutdown." }),
  CHAOS_ABORT_SHARE: setting(parse.share(), {
    default: "0",
    doc: "Test only (chaos harness): share of transformer and inference transactions aborted before commit.",
  }),
  LOG_LEVEL: setting(parse.oneOf(["fatal", "error", "warn", "info", "debug", "trace"]), {
    default: "info",
    doc: "Minimum level of the JSON logs.",
  }),
};

export type ConnectionConfig = ConfigOf<typeof connectionSettings>;

export function loadConnectionConfig(env?: Environment): ConnectionConfig {
  const loaded = loadConfig(connectionSettings, env);
  const config = {
    ...loaded,
    ...(loaded.KAFKA_SASL_PASSWORD_FILE
      ? { KAFKA_SASL_PASSWORD: secretFromFile("KAFKA_SASL_PASSWORD_FILE", loaded.KAFKA_SASL_PASSWORD_FILE) }
      : {}),
    ...(loaded.CLICKHOUSE_PASSWORD_FILE
      ? { CLICKHOUSE_PASSWORD: secretFromFile("CLICKHOUSE_PASSWORD_FILE", loaded.CLICKHOUSE_PASSWORD_FILE) }
      : {}),
  };
  const saslMissing = (["KAFKA_SASL_USERNAME", "KAFKA_SASL_PASSWORD"] as const).filter((name) => !config[name]);
  if (config.KAFKA_SASL_MECHANISM !== "none" && saslMissing.length > 0) {
    throw new StreamscoreError(
      "CONFIG_INVALID",
      `invalid configuration:\n  ${saslMissing.map((n) => `${n}: is required when KAFKA_SASL_MECHANISM=${config.KAFKA_SASL_MECHANISM}`).join("\n  ")}`,
    );
  }
  return config;
}
