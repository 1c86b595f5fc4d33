// The transformer's settings (plus the shared connection settings).
import { loadConfig, parse, setting } from "../shared/config.ts";
import { loadConnectionConfig } from "../shared/connection-settings.ts";

export const transformerSettings = {
  TRANSFORMER_PORT: setting(parse.port(), { default: "8082", doc: "Port of /healthz, /readyz and /metrics." }),
  TRANSFORMER_MAX_BATCH: setting(parse.positiveInt(), { default: "2000", doc: "Records per transaction." }),
  TRANSFORMER_CONCURRENCY: setting(parse.positiveInt(), {
    default: "3",
    doc: "Partitions processed concurrently per pipeline.",
  }),
};

export function loadTransformerConfig() {
  return { ...loadConnectionConfig(), ...loadConfig(transformerSettings) };
}

export type TransformerConfig = ReturnType<typeof loadTransformerConfig>;
