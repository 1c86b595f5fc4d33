// `npm run stack:up | stack:down | stack:status`.
import { loadStackConfig } from "./config.ts";
import { serviceComponents, serviceNames } from "./services.ts";
import { formatStatus, stackDown, stackStatus, stackUp } from "./stack.ts";

const serviceNamesList: readonly string[] = serviceNames;

async function main(command: string | undefined): Promise<number> {
  switch (command) {
    case "up": {
      const startedAt = Date.now();
      await stackUp();
      const states = await stackStatus();
      console.log(`[stack] ready in ${((Date.now() - startedAt) / 1000).toFixed(1)}s\n${formatStatus(states)}`);
      return states.every((s) => s.healthy) ? 0 : 1;
    }
    case "down":
      // The services first, so they shut down cleanly while Kafka and ClickHouse still run.
      await stackDown(serviceComponents(loadStackConfig()));
      await stackDown();
      return 0;
    case "services": {
      await stackUp(serviceComponents(loadStackConfig()));
      console.log(formatStatus(await stackStatus(serviceComponents(loadStackConfig()))));
      return 0;
    }
    case "status": {
      const states = [...(await stackStatus()), ...(await stackStatus(serviceComponents(loadStackConfig())))];
      console.log(formatStatus(states));
      return states.every((s) => s.healthy || !serviceNamesList.includes(s.name)) ? 0 : 3;
    }
    default:
      console.error("usage: cli.ts up|services|down|status");
      return 2;
  }
}

main(process.argv[2]).then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(`[stack] ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  },
);
