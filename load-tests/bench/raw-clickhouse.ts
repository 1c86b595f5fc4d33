// ClickHouse alone: inserts of `predictions` rows (built with predictionRow from scored records)
// through the project's adapter, into a throwaway database migrated with migrate(). The bound uses
// the format the sink sends, RowBinary (encoding timed with the insert, as the official client's
// JSON serialisation is timed inside its insert); JSONEachRow is measured beside it for comparison.

import { predictionRow, predictionsTable } from "../../services/monitor/rows.ts";
import { encodeRows } from "../../services/shared/clickhouse/row-binary.ts";
import { featureNames, type PipelineDefinition } from "../../services/shared/pipeline/definition.ts";
import type { ScoredRecord } from "../../services/shared/pipeline/records.ts";
import { type BenchEnvironment, createBenchDatabase } from "./environment.ts";
import { repeat } from "./runs.ts";
import type { Summary } from "./stats.ts";

export interface ClickHouseFigures {
  /** RowBinary, the sink's format: the stage's bound. */
  rowBinary: Summary;
  /** JSONEachRow through the official client. */
  json: Summary;
}

export async function measureClickHouse(
  env: BenchEnvironment,
  definition: PipelineDefinition,
  records: readonly ScoredRecord[],
  options: { rows: number; runs: number; log: (line: string) => void },
): Promise<ClickHouseFigures> {
  const database = await createBenchDatabase(env);
  try {
    const names = featureNames(definition);
    const now = Date.now();
    const table = `${database.name}.predictions`;
    let offset = 0;
    // Rows are built before the clock starts; every run stores new event ids.
    const rowsFor = (tag: string) =>
      Array.from({ length: options.rows }, (_, i) => {
        const record = records[i % records.length] as ScoredRecord;
        offset += 1;
        return predictionRow(
          { ...record, event_id: `${record.event_id}-${tag}-${i}` },
          names,
          i % 3,
          String(offset),
          now,
        );
      });
    const rowBinary = await repeat("clickhouse insert RowBinary", options, async ({ index }) => {
      const rows = rowsFor(`b${index}`);
      const started = performance.now();
      await env.clickhouse.insertRowBinary(table, encodeRows(predictionsTable, rows));
      return options.rows / ((performance.now() - started) / 1000);
    });
    const json = await repeat("clickhouse insert JSONEachRow", options, async ({ index }) => {
      const rows = rowsFor(`j${index}`);
      const started = performance.now();
      await env.clickhouse.insertRows(table, rows);
      return options.rows / ((performance.now() - started) / 1000);
    });
    return { rowBinary, json };
  } finally {
    await database.drop();
  }
}
