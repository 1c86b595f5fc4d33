// Where the stage and pipeline measurements look for progress: committed offsets of a consumer
// group, and rows in ClickHouse.
import type { Admin } from "../../services/shared/kafka/client.ts";
import type { BenchEnvironment } from "./environment.ts";

/** Records the group has committed on the topic, summed over partitions (-1 counts as 0). */
export async function committedRecords(admin: Admin, groupId: string, topic: string): Promise<number> {
  const [entry] = await admin.fetchOffsets({ groupId, topics: [topic] });
  return (entry?.partitions ?? []).reduce((sum, p) => sum + Math.max(0, Number(p.offset)), 0);
}

export async function predictionCount(env: BenchEnvironment, database: string, pipeline: string): Promise<number> {
  const [row] = await env.clickhouse.query<{ n: string }>(
    `SELECT count() AS n FROM ${database}.predictions WHERE pipeline = '${pipeline}'`,
  );
  return Number(row?.n ?? 0);
}
