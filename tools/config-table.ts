// Renders the README's configuration tables from the settings' own docs, so they cannot drift apart.
// `npm run docs:config` prints them; a unit test checks the README contains them verbatim.

import { stackSettings } from "../infra/local/config.ts";
import { consoleSettings } from "../services/console/config.ts";
import { inferenceSettings } from "../services/inference/config.ts";
import { migrationSettings, monitorSettings } from "../services/monitor/config.ts";
import { producerSettings } from "../services/producer/config.ts";
import { describeSettings, type Settings } from "../services/shared/config.ts";
import { connectionSettings } from "../services/shared/connection-settings.ts";
import { transformerSettings } from "../services/transformer/config.ts";
import { testSettings } from "../test/helpers/endpoints.ts";
import { demoSettings } from "./demo/config.ts";

export const documentedSettings: Array<{ title: string; settings: Settings }> = [
  { title: "Services (all of them)", settings: connectionSettings },
  { title: "producer (ingest API)", settings: producerSettings },
  { title: "transformer", settings: transformerSettings },
  { title: "inference", settings: inferenceSettings },
  { title: "monitor", settings: monitorSettings },
  { title: "console", settings: consoleSettings },
  { title: "Migrations (`npm run db:migrate`, the demo)", settings: migrationSettings },
  { title: "Demo (`npm run demo`)", settings: demoSettings },
  { title: "Local stack (`npm run stack:*`)", settings: stackSettings },
  { title: "Tests", settings: testSettings },
];

export function configTable(settings: Settings): string {
  const rows = describeSettings(settings).map(
    (row) => `| \`${row.name}\` | ${row.default.replace(/^\/.*\/\.stack$/, "`<repo>/.stack`")} | ${row.doc} |`,
  );
  return ["| Variable | Default | Meaning |", "|---|---|---|", ...rows].join("\n");
}

if (import.meta.main) {
  for (const { title, settings } of documentedSettings) console.log(`**${title}**\n\n${configTable(settings)}\n`);
}
