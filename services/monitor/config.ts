// The monitor's settings (plus the shared connection settings).
import { loadConfig, parse, setting } from "../shared/config.ts";
import { loadConnectionConfig } from "../shared/connection-settings.ts";

export const monitorSettings = {
  PIPELINES: setting(parse.list(), { default: "payments,iris", doc: "Pipelines this process monitors." }),
  MONITOR_PORT: setting(parse.port(), { default: "8083", doc: "Port of /healthz, /readyz and /metrics." }),
  MONITOR_MAX_BACKOFF_MS: setting(parse.positiveInt(), {
    default: "10000",
    doc: "Longest wait between insert retries while ClickHouse is down.",
  }),
  SHUTDOWN_TIMEOUT_MS: setting(parse.positiveInt(), {
    default: "20000",
    doc: "Bound on a graceful shutdown (all services).",
  }),
};

export function loadMonitorConfig() {
  return { ...loadConnectionConfig(), ...loadConfig(monitorSettings) };
}

export type MonitorConfig = ReturnType<typeof loadMonitorConfig>;
