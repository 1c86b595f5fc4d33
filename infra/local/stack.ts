// The local stack as a whole: start what is not running (idempotent), stop what it started, report.
import { clickhouseComponent } from "./clickhouse.ts";
import type { StackComponent } from "./component.ts";
import { loadStackConfig, type StackConfig } from "./config.ts";
import { ensureDebianPackages } from "./install.ts";
import { kafkaComponent } from "./kafka.ts";
import { prometheusComponent } from "./prometheus.ts";
import { schemaRegistryComponent } from "./schema-registry.ts";

const factories: Record<string, (config: StackConfig) => StackComponent> = {
  kafka: kafkaComponent,
  "schema-registry": schemaRegistryComponent,
  clickhouse: clickhouseComponent,
  prometheus: prometheusComponent,
};

export const componentNames = Object.keys(factories);

export function stackComponents(config: StackConfig = loadStackConfig()): StackComponent[] {
  return config.STACK_COMPONENTS.map((name) => {
    const factory = factories[name];
    if (!factory) throw new Error(`STACK_COMPONENTS: unknown part "${name}" (known: ${componentNames.join(", ")})`);
    return factory(config);
  });
}

export interface ComponentState {
  name: string;
  endpoint: string;
  healthy: boolean;
  /** Set when this stack started the process; unset when it is reused from elsewhere or down. */
  pid: number | undefined;
  logFile: string;
}

async function state(component: StackComponent): Promise<ComponentState> {
  return {
    name: component.name,
    endpoint: component.endpoint,
    healthy: await component.isHealthy(),
    pid: component.pid(),
    logFile: component.logFile,
  };
}

/** Starts every part that is not healthy yet; returns the names it started. */
export async function stackUp(
  components: StackComponent[] = stackComponents(),
  log: (line: string) => void = console.log,
): Promise<string[]> {
  const started: string[] = [];
  if (components.some((c) => c.name === "kafka" || c.name === "schema-registry")) {
    ensureDebianPackages([{ command: "java", pkg: "openjdk-17-jre-headless" }]);
  }
  // Install everything first, so a slow first run fails early and the starts follow one another.
  for (const component of components) {
    if (!(await component.isHealthy())) component.install();
  }
  // Start the parts side by side: the JVMs take seconds each.
  await Promise.all(
    components.map(async (component) => {
      if (await component.isHealthy()) {
        log(`[stack] ${component.name}: already running, reusing it`);
        return;
      }
      if (component.pid() !== undefined) await component.stop();
      log(`[stack] ${component.name}: starting (log: ${component.logFile})`);
      const startedAt = Date.now();
      await component.start();
      log(`[stack] ${component.name}: healthy after ${((Date.now() - startedAt) / 1000).toFixed(1)}s`);
      started.push(component.name);
    }),
  );
  return started;
}

export async function stackDown(
  components: StackComponent[] = stackComponents(),
  log: (line: string) => void = console.log,
  only?: readonly string[],
): Promise<void> {
  // Reverse order: consumers of Kafka (none here yet) before Kafka.
  for (const component of [...components].reverse()) {
    if (only && !only.includes(component.name)) continue;
    const stopped = await component.stop();
    log(`[stack] ${component.name}: ${stopped ? "stopped" : "was not started by the stack"}`);
  }
}

export function stackStatus(components: StackComponent[] = stackComponents()): Promise<ComponentState[]> {
  return Promise.all(components.map(state));
}

export function formatStatus(states: ComponentState[]): string {
  const rows = states.map((s) => {
    const health = s.healthy ? "healthy" : "down";
    const owner = s.pid !== undefined ? `pid ${s.pid}` : s.healthy ? "not started by the stack" : "-";
    return `  ${s.name.padEnd(16)} ${health.padEnd(8)} ${s.endpoint.padEnd(44)} ${owner}`;
  });
  return [`  ${"part".padEnd(16)} ${"state".padEnd(8)} ${"endpoint".padEnd(44)} process`, ...rows].join("\n");
}
