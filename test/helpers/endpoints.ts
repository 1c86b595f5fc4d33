// Where integration tests find Kafka, the schema registry and ClickHouse, in this order:
// endpoints given in the environment; else containers, when a Docker engine answers; else the
// local stack (`npm run stack:up`), started here when it is not running.

import { analystUser, clickhouseCredentials, writerUser } from "../../infra/local/clickhouse.ts";
import { componentPaths } from "../../infra/local/component.ts";
import { loadStackConfig, type StackConfig } from "../../infra/local/config.ts";
import { stackComponents, stackDown, stackUp } from "../../infra/local/stack.ts";
import { loadConfig, parse, processEnvironment, setting } from "../../services/shared/config.ts";
import { loadConnectionConfig } from "../../services/shared/connection-settings.ts";

export interface Endpoints {
  source: "environment" | "testcontainers" | "local-stack";
  kafkaBrokers: string[];
  schemaRegistryUrl: string;
  clickhouseUrl: string;
  clickhouseUser: string;
  clickhousePassword: string;
  /** A ClickHouse user without DDL rights, limited to the `streamscore` database (local stack only). */
  clickhouseWriter?: { user: string; password: string };
  /** The read-only ClickHouse user of the `streamscore` database, as the console runs (local stack only). */
  clickhouseAnalyst?: { user: string; password: string };
}

export const testSettings = {
  STREAMSCORE_KEEP_STACK: setting(parse.boolean(), {
    default: "false",
    doc: "Leave the local stack running after the tests when they started it.",
  }),
  STREAMSCORE_TEST_DOCKER: setting(parse.oneOf(["auto", "never"]), {
    default: "auto",
    doc: "Whether integration tests may use testcontainers when a Docker engine answers.",
  }),
};

export interface ResolvedEndpoints {
  endpoints: Endpoints;
  teardown: () => Promise<void>;
}

function fromEnvironment(): Endpoints | undefined {
  const env = processEnvironment();
  if (!env.KAFKA_BROKERS || !env.SCHEMA_REGISTRY_URL || !env.CLICKHOUSE_URL) return undefined;
  const config = loadConnectionConfig();
  return {
    source: "environment",
    kafkaBrokers: config.KAFKA_BROKERS,
    schemaRegistryUrl: config.SCHEMA_REGISTRY_URL,
    clickhouseUrl: config.CLICKHOUSE_URL,
    clickhouseUser: config.CLICKHOUSE_USER,
    clickhousePassword: config.CLICKHOUSE_PASSWORD,
  };
}

async function dockerAnswers(): Promise<boolean> {
  try {
    const { getContainerRuntimeClient } = await import("testcontainers");
    const attempt = getContainerRuntimeClient().then(() => true);
    const timeout = new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 5000).unref());
    return await Promise.race([attempt, timeout]);
  } catch {
    return false;
  }
}

function stackWriter(config: StackConfig): Endpoints["clickhouseWriter"] {
  if (!config.STACK_COMPONENTS.includes("clickhouse")) return undefined;
  const credentials = clickhouseCredentials(componentPaths(config, "clickhouse").confDir);
  return { user: writerUser, password: credentials.writer };
}

function stackAnalyst(config: StackConfig): Endpoints["clickhouseAnalyst"] {
  if (!config.STACK_COMPONENTS.includes("clickhouse")) return undefined;
  const credentials = clickhouseCredentials(componentPaths(config, "clickhouse").confDir);
  return { user: analystUser, password: credentials.analyst };
}

async function fromLocalStack(keep: boolean): Promise<ResolvedEndpoints> {
  const config = loadStackConfig();
  // Prometheus too: the tests check its config with promtool, which comes with it.
  const components = stackComponents(config);
  const started = await stackUp(components);
  return {
    endpoints: {
      source: "local-stack",
      kafkaBrokers: [`127.0.0.1:${config.STACK_KAFKA_PORT}`],
      schemaRegistryUrl: `http://127.0.0.1:${config.STACK_REGISTRY_PORT}/apis/ccompat/v7`,
      clickhouseUrl: `http://127.0.0.1:${config.STACK_CLICKHOUSE_HTTP_PORT}`,
      clickhouseUser: "default",
      clickhousePassword: "",
      clickhouseWriter: stackWriter(config),
      clickhouseAnalyst: stackAnalyst(config),
    },
    teardown: async () => {
      if (!keep && started.length > 0) await stackDown(components, console.log, started);
    },
  };
}

export async function resolveEndpoints(): Promise<ResolvedEndpoints> {
  const given = fromEnvironment();
  if (given) return { endpoints: given, teardown: async () => {} };
  const settings = loadConfig(testSettings);
  if (settings.STREAMSCORE_TEST_DOCKER === "auto" && (await dockerAnswers())) {
    const { startContainers } = await import("./containers.ts");
    return startContainers();
  }
  return fromLocalStack(settings.STREAMSCORE_KEEP_STACK);
}
