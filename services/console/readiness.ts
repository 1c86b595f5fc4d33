// When the console counts as ready (ClickHouse answers, checked every few seconds), and the
// service URLs it probes for the overview.
import type { ClickHouse } from "../shared/clickhouse/client.ts";
import { describeError, StreamscoreError } from "../shared/errors.ts";
import type { Logger } from "../shared/logger.ts";

const intervalMs = 5000;

export function createReadiness(clickhouse: ClickHouse, logger: Logger) {
  let reason: string | undefined = "not started";
  let timer: NodeJS.Timeout | undefined;
  const check = async () => {
    try {
      reason = (await clickhouse.ping()) ? undefined : "ClickHouse does not answer";
    } catch (error) {
      reason = `ClickHouse does not answer: ${describeError(error)}`;
    }
    if (reason) logger.warn({ reason }, "console not ready");
  };
  return {
    notReadyReason: () => reason,
    async start() {
      await check();
      timer = setInterval(() => void check(), intervalMs);
      timer.unref();
    },
    stop() {
      clearInterval(timer);
    },
  };
}

/** `name=url` entries (CONSOLE_SERVICE_URLS) as a map; a malformed entry fails start-up, naming it. */
export function parseServiceUrls(entries: readonly string[]): Record<string, string> {
  const services: Record<string, string> = {};
  for (const entry of entries) {
    const match = /^([a-z][a-z0-9-]*)=(https?:\/\/\S+)$/.exec(entry);
    if (!match)
      throw new StreamscoreError("CONFIG_INVALID", `CONSOLE_SERVICE_URLS: "${entry}" is not name=http://host:port`);
    services[match[1] as string] = (match[2] as string).replace(/\/$/, "");
  }
  return services;
}
