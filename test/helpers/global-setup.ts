// Vitest global setup for integration tests: find or start the real servers once per run.
import type { TestProject } from "vitest/node";
import { type Endpoints, resolveEndpoints } from "./endpoints.ts";

declare module "vitest" {
  export interface ProvidedContext {
    endpoints: Endpoints;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const { endpoints, teardown } = await resolveEndpoints();
  console.log(
    `[integration] servers from ${endpoints.source}: Kafka ${endpoints.kafkaBrokers.join(",")}, registry ${endpoints.schemaRegistryUrl}, ClickHouse ${endpoints.clickhouseUrl}`,
  );
  project.provide("endpoints", endpoints);
  return teardown;
}
