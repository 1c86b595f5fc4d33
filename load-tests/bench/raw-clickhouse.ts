// ClickHouse alone: inserts of `predictions` rows (built with predictionRow from scored records)
// through the project's adapter, into a throwaway database migrated with migrate().
import { predictionRow } from "../../services/monitor/rows.ts";
import { featureNames, type PipelineDefinition } from "../../services/shared/pipeline/definition.ts";
import type { ScoredRecord } from "../../services/shared/pipeline/records.ts";
import { type BenchEnvironment, createBenchDatabase } from "./environment.ts";
import { repeat } from "./runs.ts";
import type { Summary } from "./stats.ts";

export async function measureClickHouse(
  env: BenchEnvironment,
  definition: PipelineDefinition,
  records: readonly ScoredRecord[],
  options: { rows: number; runs: number; log: (line: string) => void },
): Promise<Summary> {
  const database = await createBenchDatabase(env);
  try {
    const names = featureNames(definition);
    const now = Date.now();
    const table = `${database.name}.predictions`;
    return await repeat("clickhouse insert", options, async ({ index }) => {
      // Rows are built before the clock starts; every run stores new event ids.
      const rows = Array.from({ length: options.rows }, (_, i) => {
        const record = records[i % records.length] as ScoredRecord;
        return predictionRow(
          { ...record, event_id: `${record.event_id}-r${index}-${i}` },
          names,
          i % 3,
          String(index * options.rows + i),
          now,
        );
      });
      const started = performance.now();
      await env.clickhouse.insertRows(table, rows);
      return options.rows / ((performance.now() - started) / 1000);
    });
  } finally {
    await database.drop();
  }
}
