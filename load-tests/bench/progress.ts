// Where the stage and pipeline measurements look for progress: committed offsets of a consumer
// group, and rows in ClickHouse.
import type { BenchEnvironment } from "./environment.ts";

export async function predictionCount(env: BenchEnvironment, database: string, pipeline: string): Promise<number> {
  const [row] = await env.clickhouse.query<{ n: string }>(
    `SELECT count() AS n FROM ${database}.predictions WHERE pipeline = '${pipeline}'`,
  );
  return Number(row?.n ?? 0);
}
