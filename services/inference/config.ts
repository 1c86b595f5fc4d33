// The inference service's settings (plus the shared connection settings).
import { loadConfig, parse, setting } from "../shared/config.ts";
import { loadConnectionConfig } from "../shared/connection-settings.ts";
import { eosClients } from "../shared/kafka/eos-client.ts";
import { defaultPorts } from "../shared/services.ts";

export const inferenceSettings = {
  INFERENCE_PORT: setting(parse.port(), {
    default: String(defaultPorts.inference),
    doc: "Port of /predict, /v1/models and /metrics.",
  }),
  INFERENCE_BATCH_SIZE: setting(parse.positiveInt(), {
    default: "256",
    doc: "Rows per onnxruntime run (micro-batch).",
  }),
  INFERENCE_LINGER_MS: setting(parse.positiveInt(), {
    default: "20",
    doc: "How long a fetch waits for more records before a smaller micro-batch is scored.",
  }),
  INFERENCE_KAFKA_CLIENT: setting(parse.oneOf(eosClients), {
    default: "librdkafka",
    doc: "Client of the exactly-once path: librdkafka (one transaction over all owned partitions, offsets with the group's metadata), or kafkajs (a transaction per partition; kept for comparison).",
  }),
  INFERENCE_MAX_TRANSACTION: setting(parse.positiveInt(), { default: "2000", doc: "Records per transaction." }),
  INFERENCE_CONCURRENCY: setting(parse.positiveInt(), {
    default: "3",
    doc: "Partitions processed concurrently per pipeline (kafkajs only: librdkafka takes every owned partition at once).",
  }),
  INFERENCE_THREADS: setting(parse.positiveInt(), { default: "1", doc: "onnxruntime intra-op threads per model." }),
  INFERENCE_MODEL_POLL_SECONDS: setting(parse.positiveInt(), {
    default: "5",
    doc: "How often model folders are checked for a newer version.",
  }),
  INFERENCE_API_KEYS_FILE: setting(parse.optionalString(), {
    doc: "JSON file of hashed API keys (`npm run cli -- keys create --scopes model-admin`); model changes over HTTP need a key with the model-admin scope, and are refused without this file.",
  }),
  INFERENCE_PREDICT_PIPELINE: setting(parse.string(), {
    default: "iris",
    doc: 'Pipeline whose model answers the plain `POST /predict {"input": [...]}`.',
  }),
};

export function loadInferenceConfig() {
  return { ...loadConnectionConfig(), ...loadConfig(inferenceSettings) };
}

export type InferenceConfig = ReturnType<typeof loadInferenceConfig>;
