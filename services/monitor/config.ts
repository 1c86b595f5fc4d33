// The monitor's settings (plus the shared connection settings).
import { loadConfig, parse, setting } from "../shared/config.ts";
import { loadConnectionConfig } from "../shared/connection-settings.ts";

export const monitorSettings = {
  MONITOR_PORT: setting(parse.port(), { default: "8083", doc: "Port of /healthz, /readyz and /metrics." }),
  MONITOR_MAX_BACKOFF_MS: setting(parse.positiveInt(), {
    default: "10000",
    doc: "Longest wait between insert retries while ClickHouse is down.",
  }),
  MONITOR_QUALITY_INTERVAL_SECONDS: setting(parse.positiveInt(), {
    default: "30",
    doc: "How often model quality is recomputed from the labels that arrived.",
  }),
  MONITOR_QUALITY_LOOKBACK_HOURS: setting(parse.positiveInt(), {
    default: "6",
    doc: "Event-time hours of windows whose quality is recomputed on each run.",
  }),
  MONITOR_LABEL_TIMEOUT_SECONDS: setting(parse.positiveInt(), {
    default: "3600",
    doc: "After this long, predictions without a label are counted as unlabelled.",
  }),
};

export function loadMonitorConfig() {
  return { ...loadConnectionConfig(), ...loadConfig(monitorSettings) };
}

export type MonitorConfig = ReturnType<typeof loadMonitorConfig>;
