// The streamscore services as local processes (for the demo): each one a daemon with a log and a
// pid file under the stack folder, healthy once its /readyz answers 200.
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { processEnvironment } from "../../services/shared/config.ts";
import {
  consolePort,
  defaultPorts,
  kafkaPrincipals,
  type ServiceName,
  serviceNames,
} from "../../services/shared/services.ts";
import { analystUser, clickhouseCredentials, clickhouseWriterEnvironment } from "./clickhouse.ts";
import { componentPaths, daemonComponent, type StackComponent } from "./component.ts";
import { projectRoot, type StackConfig } from "./config.ts";
import { kafkaServiceEnvironment } from "./kafka.ts";
import { httpOk } from "./processes.ts";

export { type ServiceName, serviceNames };

/**
 * Each service's memory budget: the resident memory (MiB) it must stay under, under overload too.
 * The fault-injection runs fail a process that goes over it.
 */
export const memoryBudgetMiB: Record<ServiceName, number> = {
  producer: 512,
  transformer: 1024,
  inference: 768,
  monitor: 512,
};

/**
 * Node's flags for a service: a V8 old-space limit of 60% of its budget. Without one V8 sizes the
 * heap from the machine (4 GiB here) and, while allocation is fast, lets it grow to a multiple of
 * what is live before a full collection, so a busy service's memory followed its allocation rate
 * rather than its state. The rest of the budget is the young generation, code, and memory outside
 * the heap (fetched Kafka batches, ONNX Runtime).
 */
export function serviceNodeFlags(name: ServiceName): string[] {
  return [`--max-old-space-size=${Math.round(memoryBudgetMiB[name] * 0.6)}`];
}

/** The stack's HMAC key for personal fields: made once (mode 600) and kept, so pseudonyms stay stable. */
export function personalDataKeyFile(config: StackConfig): string {
  const file = join(config.STACK_DIR, "conf", "personal-data.key");
  if (!existsSync(file)) {
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, `${randomBytes(32).toString("base64url")}\n`, { mode: 0o600 });
  }
  return file;
}

/**
 * The environment a service process runs with on this stack: the ClickHouse writer, the
 * personal-data key file and its Kafka principal, unless this process's own settings say
 * otherwise; `env` wins over everything.
 */
export function serviceEnvironment(
  config: StackConfig,
  name: ServiceName,
  env: Record<string, string> = {},
): Record<string, string | undefined> {
  const processEnv = processEnvironment();
  // Least privilege: the services run as the stack's ClickHouse writer unless told otherwise.
  const clickhouseEnv = processEnv.CLICKHOUSE_USER ? {} : clickhouseWriterEnvironment(config);
  const personalDataEnv =
    processEnv.PERSONAL_DATA_KEY || processEnv.PERSONAL_DATA_KEY_FILE
      ? {}
      : { PERSONAL_DATA_KEY_FILE: personalDataKeyFile(config) };
  return {
    ...clickhouseEnv,
    ...personalDataEnv,
    ...kafkaServiceEnvironment(config, kafkaPrincipals[name]),
    ...processEnv,
    ...env,
  };
}

/** The script a service process runs. */
export function serviceScript(name: ServiceName): string {
  return join(projectRoot, "services", name, "main.ts");
}

export function serviceComponents(config: StackConfig, env: Record<string, string> = {}): StackComponent[] {
  return [...kafkaServiceComponents(config, env), consoleComponent(config)];
}

/**
 * The web console: no Kafka, the read-only ClickHouse analyst (unless this process's settings name
 * a user), the stack's Prometheus.
 */
export function consoleComponent(config: StackConfig): StackComponent {
  const name = "console";
  const processEnv = processEnvironment();
  const clickhouseEnv = (): Record<string, string> => {
    if (processEnv.CLICKHOUSE_USER || !config.STACK_COMPONENTS.includes("clickhouse")) return {};
    const confDir = componentPaths(config, "clickhouse").confDir;
    clickhouseCredentials(confDir);
    return { CLICKHOUSE_USER: analystUser, CLICKHOUSE_PASSWORD_FILE: join(confDir, "analyst.password") };
  };
  return daemonComponent({
    name,
    endpoint: `http://127.0.0.1:${consolePort}`,
    paths: componentPaths(config, name),
    timeoutMs: config.STACK_START_TIMEOUT_SECONDS * 1000,
    install: () => {},
    prepare: () => ({
      command: process.execPath,
      args: ["--max-old-space-size=256", join(projectRoot, "services", name, "main.ts")],
      cwd: projectRoot,
      env: {
        ...clickhouseEnv(),
        CONSOLE_PROMETHEUS_URL: `http://127.0.0.1:${config.STACK_PROMETHEUS_PORT}`,
        ...processEnv,
      },
    }),
    isHealthy: () => httpOk(`http://127.0.0.1:${consolePort}/readyz`),
  });
}

function kafkaServiceComponents(config: StackConfig, env: Record<string, string>): StackComponent[] {
  return serviceNames.map((name) => {
    const paths = componentPaths(config, name);
    const port = defaultPorts[name];
    return daemonComponent({
      name,
      endpoint: `http://127.0.0.1:${port}`,
      paths,
      timeoutMs: config.STACK_START_TIMEOUT_SECONDS * 1000,
      install: () => {},
      prepare: () => ({
        command: process.execPath,
        args: [...serviceNodeFlags(name), serviceScript(name)],
        cwd: projectRoot,
        env: serviceEnvironment(config, name, env),
      }),
      isHealthy: () => httpOk(`http://127.0.0.1:${port}/readyz`),
    });
  });
}
