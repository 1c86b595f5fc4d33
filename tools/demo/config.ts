// Settings of `npm run demo`.

import { loadMigrationConfig } from "../../services/monitor/config.ts";
import { loadConfig, parse, setting } from "../../services/shared/config.ts";
import { loadConnectionConfig } from "../../services/shared/connection-settings.ts";

export const demoSettings = {
  DEMO_SECONDS: setting(parse.positiveInt(), { default: "90", doc: "How long the demo generates payments." }),
  DEMO_RATE: setting(parse.positiveInt(), { default: "200", doc: "Payments per second the demo sends." }),
  DEMO_IRIS_RATE: setting(parse.positiveInt(), { default: "5", doc: "Iris events per second the demo sends." }),
};

export function loadDemoConfig() {
  return { ...loadConnectionConfig(), ...loadConfig(demoSettings), admin: loadMigrationConfig() };
}
