// The transformer's settings (plus the shared connection settings).
import { type Environment, loadConfig, parse, secretFromFile, setting } from "../shared/config.ts";
import { loadConnectionConfig } from "../shared/connection-settings.ts";
import { StreamscoreError } from "../shared/errors.ts";
import { eosClients } from "../shared/kafka/eos-client.ts";
import { defaultPorts } from "../shared/services.ts";

export const transformerSettings = {
  TRANSFORMER_PORT: setting(parse.port(), {
    default: String(defaultPorts.transformer),
    doc: "Port of /healthz, /readyz and /metrics.",
  }),
  TRANSFORMER_KAFKA_CLIENT: setting(parse.oneOf(eosClients), {
    default: "librdkafka",
    doc: "Client of the exactly-once path: librdkafka (one transaction over all owned partitions, offsets with the group's metadata), or kafkajs (a transaction per partition; kept for comparison).",
  }),
  TRANSFORMER_MAX_BATCH: setting(parse.positiveInt(), { default: "2000", doc: "Records per transaction." }),
  TRANSFORMER_CONCURRENCY: setting(parse.positiveInt(), {
    default: "3",
    doc: "Partitions processed concurrently per pipeline (kafkajs only: librdkafka takes every owned partition at once).",
  }),
  PERSONAL_DATA_KEY_FILE: setting(parse.optionalString(), {
    doc: "File holding the HMAC key that hashes personal fields (required when a pipeline hashes any); the local stack generates one.",
  }),
  PERSONAL_DATA_KEY: setting(parse.optionalString(), {
    doc: "The HMAC key itself, when not given as a file (at least 32 characters).",
    secret: true,
  }),
};

export function loadTransformerConfig(env?: Environment) {
  const config = { ...loadConnectionConfig(env), ...loadConfig(transformerSettings, env) };
  const key = config.PERSONAL_DATA_KEY_FILE
    ? secretFromFile("PERSONAL_DATA_KEY_FILE", config.PERSONAL_DATA_KEY_FILE)
    : config.PERSONAL_DATA_KEY;
  if (key !== undefined && key.length < 32) {
    throw new StreamscoreError(
      "CONFIG_INVALID",
      "invalid configuration:\n  PERSONAL_DATA_KEY: must be at least 32 characters (the key is not shown)",
    );
  }
  return { ...config, PERSONAL_DATA_KEY: key };
}

export type TransformerConfig = ReturnType<typeof loadTransformerConfig>;
