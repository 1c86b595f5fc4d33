// Topic creation, idempotent: what exists is left alone.
import type { Admin, ITopicConfig, Kafka } from "./client.ts";

export interface TopicSpec {
  topic: string;
  partitions: number;
  /** Extra topic configs, e.g. cleanup.policy=compact for changelogs. */
  configs?: Record<string, string>;
}

export async function ensureTopics(admin: Admin, specs: readonly TopicSpec[]): Promise<void> {
  const existing = new Set(await admin.listTopics());
  const missing: ITopicConfig[] = specs
    .filter((spec) => !existing.has(spec.topic))
    .map((spec) => ({
      topic: spec.topic,
      numPartitions: spec.partitions,
      replicationFactor: -1,
      configEntries: Object.entries(spec.configs ?? {}).map(([name, value]) => ({ name, value })),
    }));
  if (missing.length > 0) await admin.createTopics({ topics: missing, waitForLeaders: true });
}

/** Creates what is missing of `specs`, then returns the partition count of each of `counted`. */
export async function ensureTopicsAndCountPartitions(
  kafka: Kafka,
  specs: readonly TopicSpec[],
  counted: readonly string[],
): Promise<Map<string, number>> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    await ensureTopics(admin, specs);
    const { topics } = await admin.fetchTopicMetadata({ topics: [...counted] });
    return new Map(topics.map((t) => [t.name, t.partitions.length]));
  } finally {
    await admin.disconnect();
  }
}

export async function createTopic(kafka: Kafka, topic: string, partitions: number): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    await admin.createTopics({
      topics: [{ topic, numPartitions: partitions, replicationFactor: -1 }],
      waitForLeaders: true,
    });
  } finally {
    await admin.disconnect();
  }
}

/** Deletes what exists of `topics` (a missing one is no error). */
export async function deleteTopics(kafka: Kafka, topics: readonly string[]): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    await admin.deleteTopics({ topics: [...topics] }).catch(() => undefined);
  } finally {
    await admin.disconnect();
  }
}
