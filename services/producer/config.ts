// The ingest service's settings (plus the shared connection settings).
import { loadConfig, parse, setting } from "../shared/config.ts";
import { loadConnectionConfig } from "../shared/connection-settings.ts";
import { defaultPorts } from "../shared/services.ts";

export const producerSettings = {
  PRODUCER_PORT: setting(parse.port(), {
    default: String(defaultPorts.producer),
    doc: "Port of the ingest API (and its /metrics).",
  }),
  INGEST_MAX_BODY_BYTES: setting(parse.positiveInt(), {
    default: "1048576",
    doc: "Largest request body; larger gets 413.",
  }),
  INGEST_MAX_EVENTS: setting(parse.positiveInt(), {
    default: "5000",
    doc: "Most events in one request; more gets 413.",
  }),
  INGEST_MAX_PENDING_RECORDS: setting(parse.positiveInt(), {
    default: "50000",
    doc: "Records waiting for Kafka acknowledgement before requests get 429.",
  }),
  INGEST_MAX_QUEUE_DELAY_MS: setting(parse.positiveInt(), {
    default: "1000",
    doc: "How long the oldest event may have waited for Kafka before requests get 429 (checked before the body is parsed).",
  }),
  INGEST_MAX_EVENT_LOOP_DELAY_MS: setting(parse.nonNegativeInt(), {
    default: "300",
    doc: "Mean event-loop delay (ms, over a second) past which event requests get 503 before their body is read; 0 disables.",
  }),
  INGEST_SEND_TIMEOUT_MS: setting(parse.positiveInt(), {
    default: "10000",
    doc: "How long a request waits for Kafka before it gets 503.",
  }),
  INGEST_REQUEST_TIMEOUT_MS: setting(parse.positiveInt(), {
    default: "15000",
    doc: "A request whose body has not fully arrived by then is closed (slow or stalled uploads).",
  }),
  INGEST_API_KEYS_FILE: setting(parse.optionalString(), {
    doc: "JSON file of hashed API keys (`npm run cli -- keys create`); unset leaves the API open, for loopback development.",
  }),
  INGEST_LINGER_MS: setting(parse.positiveInt(), {
    default: "2",
    doc: "How long sends of concurrent requests are gathered.",
  }),
};

export function loadProducerConfig() {
  return { ...loadConnectionConfig(), ...loadConfig(producerSettings) };
}

export type ProducerConfig = ReturnType<typeof loadProducerConfig>;
