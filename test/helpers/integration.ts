// What integration tests build on: the servers' endpoints as service config, unique names, waiting.
import { randomBytes } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { inject } from "vitest";
import { type ConnectionConfig, loadConnectionConfig } from "../../services/shared/connection-settings.ts";

/** The connection settings a service would get, pointing at the test servers. */
export function testConnectionConfig(): ConnectionConfig {
  const endpoints = inject("endpoints");
  return loadConnectionConfig({
    KAFKA_BROKERS: endpoints.kafkaBrokers.join(","),
    SCHEMA_REGISTRY_URL: endpoints.schemaRegistryUrl,
    CLICKHOUSE_URL: endpoints.clickhouseUrl,
    CLICKHOUSE_USER: endpoints.clickhouseUser,
    CLICKHOUSE_PASSWORD: endpoints.clickhousePassword,
    KAFKA_CLIENT_ID: "streamscore-test",
    LOG_LEVEL: "warn",
  });
}

/** A name no other test (or earlier run) uses: tests never share topics, groups or tables. */
export function uniqueName(prefix: string): string {
  return `${prefix}_${Date.now().toString(36)}_${randomBytes(4).toString("hex")}`;
}

/** Polls until `condition` returns a value that is not undefined, or fails after `timeoutMs`. */
export async function waitFor<T>(
  what: string,
  condition: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await condition();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(50);
  }
}
