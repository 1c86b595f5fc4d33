// The monitor's settings (plus the shared connection settings).
import { loadConfig, parse, setting } from "../shared/config.ts";
import { loadConnectionConfig } from "../shared/connection-settings.ts";

export const monitorSettings = {
  MONITOR_PORT: setting(parse.port(), { default: "8083", doc: "Port of /healthz, /readyz and /metrics." }),
  MONITOR_MAX_BACKOFF_MS: setting(parse.positiveInt(), {
    default: "10000",
    doc: "Longest wait between insert retries while ClickHouse is down.",
  }),
};

export function loadMonitorConfig() {
  return { ...loadConnectionConfig(), ...loadConfig(monitorSettings) };
}

export type MonitorConfig = ReturnType<typeof loadMonitorConfig>;
