// The console's settings (plus the shared connection settings; the local stack gives it the
// read-only ClickHouse analyst).
import { type Environment, loadConfig, parse, setting } from "../shared/config.ts";
import { loadConnectionConfig } from "../shared/connection-settings.ts";
import { consolePort, defaultPorts, serviceNames } from "../shared/services.ts";

const defaultServiceUrls = serviceNames.map((name) => `${name}=http://127.0.0.1:${defaultPorts[name]}`).join(",");

export const consoleSettings = {
  CONSOLE_PORT: setting(parse.port(), {
    default: String(consolePort),
    doc: "Port of the web console (and its /healthz, /readyz, /metrics).",
  }),
  CONSOLE_PROMETHEUS_URL: setting(parse.url(), {
    default: "http://127.0.0.1:9090",
    doc: "Prometheus the console reads rates, lag and alerts from.",
  }),
  CONSOLE_SERVICE_URLS: setting(parse.list(), {
    default: defaultServiceUrls,
    doc: "`name=url` of each service whose /healthz and /readyz the overview shows.",
  }),
  CONSOLE_API_KEYS_FILE: setting(parse.optionalString(), {
    doc: "JSON file of hashed API keys (`npm run cli -- keys create … --scopes console`); unset leaves the console open, on loopback.",
  }),
  CONSOLE_DRIFT_HOURS: setting(parse.positiveInt(), {
    default: "24",
    doc: "Event-time hours of windows the drift and quality pages show (the newest window's end counts back).",
  }),
};

export function loadConsoleConfig(env?: Environment) {
  return { ...loadConnectionConfig(env), ...loadConfig(consoleSettings, env) };
}

export type ConsoleConfig = ReturnType<typeof loadConsoleConfig>;
