// What integration tests build on: the servers' endpoints as service config, unique names, waiting, test topics.

import { randomBytes } from "node:crypto";
import { inject } from "vitest";
import { type ConnectionConfig, loadConnectionConfig } from "../../services/shared/connection-settings.ts";
import type { Kafka } from "../../services/shared/kafka/client.ts";
import { waitUntil } from "../../services/shared/wait.ts";

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

/**
 * The same settings as the restricted writer the services run as on the local stack (no DDL, the
 * `streamscore` database only); undefined where the servers did not come from the local stack.
 */
export function testWriterConfig(): ConnectionConfig | undefined {
  const writer = inject("endpoints").clickhouseWriter;
  if (!writer) return undefined;
  return { ...testConnectionConfig(), CLICKHOUSE_USER: writer.user, CLICKHOUSE_PASSWORD: writer.password };
}

/** The read-only analyst the console runs as (local stack only; undefined elsewhere). */
export function testAnalystConfig(): ConnectionConfig | undefined {
  const analyst = inject("endpoints").clickhouseAnalyst;
  if (!analyst) return undefined;
  return { ...testConnectionConfig(), CLICKHOUSE_USER: analyst.user, CLICKHOUSE_PASSWORD: analyst.password };
}

/** A name no other test (or earlier run) uses: tests never share topics, groups or tables. */
export function uniqueName(prefix: string): string {
  return `${prefix}_${Date.now().toString(36)}_${randomBytes(4).toString("hex")}`;
}

/** Polls until `condition` returns a value that is not undefined, or fails after `timeoutMs`. */
export function waitFor<T>(
  what: string,
  condition: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 30_000,
): Promise<T> {
  return waitUntil(what, condition, timeoutMs);
}

/** Creates a topic for one test file (its leaders elected), for `beforeAll`. */
export async function createTestTopic(kafka: Kafka, topic: string, numPartitions: number): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    await admin.createTopics({ topics: [{ topic, numPartitions }], waitForLeaders: true });
  } finally {
    await admin.disconnect();
  }
}

/** Deletes a test's topic, for `afterAll`; a topic already gone is fine. */
export async function deleteTestTopic(kafka: Kafka, topic: string): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
  } finally {
    await admin.disconnect();
  }
}
