// Topic creation, idempotent: what exists is left alone.
import type { Admin, ITopicConfig } from "./client.ts";

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
