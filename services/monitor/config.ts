// The monitor's settings (plus the shared connection settings).
import { type Environment, loadConfig, parse, secretFromFile, setting } from "../shared/config.ts";
import { type ConnectionConfig, loadConnectionConfig } from "../shared/connection-settings.ts";
import { defaultPorts } from "../shared/services.ts";

export const monitorSettings = {
  MONITOR_PORT: setting(parse.port(), {
    default: String(defaultPorts.monitor),
    doc: "Port of /healthz, /readyz and /metrics.",
  }),
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
  MONITOR_RETRAIN_COMMAND: setting(parse.optionalString(), {
    doc: "Trainer the monitor starts (with `--pipeline <p> --json`, one at a time per pipeline) when the retraining policy fires, e.g. `node tools/models/retrain.ts`; unset: the request is only written to the model log.",
  }),
};

export function loadMonitorConfig(env?: Environment) {
  return { ...loadConnectionConfig(env), ...loadConfig(monitorSettings, env) };
}

export type MonitorConfig = ReturnType<typeof loadMonitorConfig>;

// DDL needs more than the monitor's user may do: migrations run apart, as an administrator.
export const migrationSettings = {
  CLICKHOUSE_ADMIN_USER: setting(parse.string(), {
    default: "default",
    doc: "ClickHouse user that applies migrations (`npm run db:migrate`, the demo, the tests); the monitor never does.",
  }),
  CLICKHOUSE_ADMIN_PASSWORD: setting(parse.string(), {
    default: "",
    doc: "Password of CLICKHOUSE_ADMIN_USER.",
    secret: true,
  }),
  CLICKHOUSE_ADMIN_PASSWORD_FILE: setting(parse.optionalString(), {
    doc: "File holding the password of CLICKHOUSE_ADMIN_USER (wins over CLICKHOUSE_ADMIN_PASSWORD).",
  }),
};

/** The connection settings with the administrator as the ClickHouse user. */
export function loadMigrationConfig(env?: Environment): ConnectionConfig {
  const admin = loadConfig(migrationSettings, env);
  return {
    ...loadConnectionConfig(env),
    CLICKHOUSE_USER: admin.CLICKHOUSE_ADMIN_USER,
    CLICKHOUSE_PASSWORD: admin.CLICKHOUSE_ADMIN_PASSWORD_FILE
      ? secretFromFile("CLICKHOUSE_ADMIN_PASSWORD_FILE", admin.CLICKHOUSE_ADMIN_PASSWORD_FILE)
      : admin.CLICKHOUSE_ADMIN_PASSWORD,
  };
}
