// Parts of the local stack that a test (or a chaos run) starts for itself, because it kills or
// restarts them: a folder of their own and free loopback ports, run from the shared stack's installs
// so nothing is downloaded twice.
import { existsSync, mkdirSync, realpathSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import { loadStackConfig, type StackConfig } from "../../infra/local/config.ts";
import { freePort } from "../../infra/local/processes.ts";

/** Stack settings for a folder of its own, every port a free one. */
export async function ownStackConfig(dir: string, overrides: Record<string, string> = {}): Promise<StackConfig> {
  return loadStackConfig({
    STACK_DIR: dir,
    STACK_KAFKA_PORT: String(await freePort()),
    STACK_KAFKA_CONTROLLER_PORT: String(await freePort()),
    STACK_CLICKHOUSE_HTTP_PORT: String(await freePort()),
    STACK_CLICKHOUSE_TCP_PORT: String(await freePort()),
    STACK_REGISTRY_PORT: String(await freePort()),
    STACK_REGISTRY_MANAGEMENT_PORT: String(await freePort()),
    STACK_START_TIMEOUT_SECONDS: "180",
    ...overrides,
  });
}

/**
 * Links the shared stack's broker jars and registry (read only) into `config.STACK_DIR`; where the
 * shared stack has not installed them, the stack library fetches a copy of its own there.
 */
export function linkSharedInstalls(config: StackConfig): void {
  const shared = loadStackConfig().STACK_DIR;
  mkdirSync(config.STACK_DIR, { recursive: true });
  for (const install of [`kafka-${config.STACK_KAFKA_VERSION}`, `apicurio-${config.STACK_APICURIO_VERSION}`]) {
    const from = join(shared, install);
    const to = join(config.STACK_DIR, install);
    if (!existsSync(to) && existsSync(join(from, ".complete"))) symlinkSync(realpathSync(from), to);
  }
}
