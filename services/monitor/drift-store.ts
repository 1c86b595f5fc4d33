// What drift monitor instances of one pipeline share through ClickHouse (migration 008): each
// partition's progress, the sealed window parts waiting to be merged, and the stored predictions a
// new owner rebuilds a partition's open parts from.
import type { ClickHouse } from "../shared/clickhouse/client.ts";
import type { SourceProgress } from "./windowing/partitioned-windows.ts";
import type { PartSnapshot } from "./windowing/window-parts.ts";

/** "None yet" in the Int64 time columns (−∞ in memory). */
const none = -Number.MAX_SAFE_INTEGER;
/** The closer's row in drift_progress: `sealedThrough` is how far windows are closed. */
export const closerPartition = -1;

const toStored = (time: number) => (Number.isFinite(time) ? Math.round(time) : none);
const fromStored = (text: string | number) => (Number(text) <= none ? Number.NEGATIVE_INFINITY : Number(text));

/** A Float64 as ClickHouse writes it in text ("nan", "inf", "-inf" included). */
function numberFromText(text: string): number {
  if (text === "inf" || text === "+inf") return Number.POSITIVE_INFINITY;
  if (text === "-inf") return Number.NEGATIVE_INFINITY;
  return text.endsWith("nan") ? Number.NaN : Number(text);
}

export interface StoredProgress extends SourceProgress {
  owner: string;
  updatedAt: number;
}

export interface StoredPart {
  version: number;
  start: number;
  end: number;
  partition: number;
  snapshot: PartSnapshot;
}

/** A stored prediction as the drift monitor reads it back, with its offset. */
export interface StoredInput {
  model_version: number;
  event_time_ms: number;
  feature_values: number[];
  label: string;
  score: number;
  source_offset: string;
}

export interface DriftStore {
  readProgress(): Promise<Map<number, StoredProgress>>;
  writeProgress(rows: ReadonlyArray<{ partition: number; progress: SourceProgress }>): Promise<void>;
  writeParts(parts: readonly StoredPart[]): Promise<void>;
  /** Parts of windows ending in (after, through], newest copy of each. */
  readParts(after: number, through: number): Promise<StoredPart[]>;
  /**
   * A partition's stored predictions with an event time after `after` and an offset past `afterOffset`,
   * in offset order, at most `limit` of them (the caller pages through with the last offset it got).
   */
  storedInputs(partition: number, after: number, afterOffset: bigint, limit: number): Promise<StoredInput[]>;
  /** A partition's newest stored event time (−∞ when it has none). */
  newestStoredEventTime(partition: number): Promise<number>;
  /** The deciding rows of the windows ending at or before `through`, oldest first (to replay alert hysteresis). */
  decisions(through: number): Promise<Array<{ feature: string; drifted: boolean }>>;
}

export function createDriftStore(deps: {
  clickhouse: ClickHouse;
  database: string;
  pipeline: string;
  role: "decision" | "shadow";
  /** Where this role's rows are: predictions or shadow_predictions. */
  sourceTable: string;
  /** Names this instance in the progress rows it writes. */
  owner: string;
  now: () => number;
}): DriftStore {
  const { clickhouse, database, pipeline, role } = deps;
  const where = `pipeline = '${pipeline}' AND role = '${role}'`;
  return {
    async readProgress() {
      const rows = await clickhouse.query<{
        partition: number;
        newest: string;
        sealed: string;
        caught_up: number;
        heard: string;
        owner: string;
        updated: string;
      }>(
        // Aliases differ from the columns: ClickHouse would read an alias in WHERE instead of the column.
        `SELECT partition, toString(max_event_time) AS newest, toString(sealed_through) AS sealed,
                caught_up, toString(heard_at) AS heard, owner, toString(updated_at) AS updated
         FROM ${database}.drift_progress FINAL WHERE ${where}`,
      );
      return new Map(
        rows.map((r) => [
          Number(r.partition),
          {
            maxEventTime: fromStored(r.newest),
            sealedThrough: fromStored(r.sealed),
            caughtUp: Number(r.caught_up) === 1,
            seenAt: fromStored(r.heard),
            owner: r.owner,
            updatedAt: Number(r.updated),
          },
        ]),
      );
    },
    async writeProgress(rows) {
      if (rows.length === 0) return;
      const updatedAt = deps.now();
      await clickhouse.insertRows(
        `${database}.drift_progress`,
        rows.map(({ partition, progress }) => ({
          pipeline,
          role,
          partition,
          max_event_time: toStored(progress.maxEventTime),
          sealed_through: toStored(progress.sealedThrough),
          caught_up: progress.caughtUp ? 1 : 0,
          heard_at: toStored(progress.seenAt),
          owner: deps.owner,
          updated_at: updatedAt,
        })),
      );
    },
    async writeParts(parts) {
      if (parts.length === 0) return;
      const writtenAt = deps.now();
      await clickhouse.insertRows(
        `${database}.drift_parts`,
        parts.map((p) => ({
          pipeline,
          role,
          model_version: p.version,
          window_start: p.start,
          window_end: p.end,
          partition: p.partition,
          events: p.snapshot.size,
          state: JSON.stringify(p.snapshot),
          written_at: writtenAt,
        })),
      );
    },
    async readParts(after, through) {
      if (!(through > after)) return [];
      const rows = await clickhouse.query<{
        model_version: number;
        first_ms: string;
        end_ms: string;
        partition: number;
        state: string;
      }>(
        `SELECT model_version, toString(window_start) AS first_ms, toString(window_end) AS end_ms, partition, state
         FROM ${database}.drift_parts FINAL
         WHERE ${where} AND window_end > ${toStored(after)} AND window_end <= ${toStored(through)}
         ORDER BY window_start, model_version, partition`,
      );
      return rows.map((r) => ({
        version: Number(r.model_version),
        start: Number(r.first_ms),
        end: Number(r.end_ms),
        partition: Number(r.partition),
        snapshot: JSON.parse(r.state) as PartSnapshot,
      }));
    },
    async storedInputs(partition, after, afterOffset, limit) {
      // Numbers as text: JSON has no NaN or infinities, and a missing value must stay what it was.
      const rows = await clickhouse.query<{
        model_version: number;
        time_ms: string;
        features: string[];
        label: string;
        score_text: string;
        offset_text: string;
      }>(
        `SELECT model_version, toString(event_time_ms) AS time_ms,
                ${role === "shadow" ? "emptyArrayString()" : "arrayMap(x -> toString(x), feature_values)"} AS features,
                label, toString(score) AS score_text, toString(source_offset) AS offset_text
         FROM ${database}.${deps.sourceTable} FINAL
         WHERE pipeline = '${pipeline}' AND source_partition = ${partition} AND event_time_ms > ${Math.max(0, toStored(after))}
           ${afterOffset >= 0n ? `AND source_offset > ${afterOffset}` : ""}
         ORDER BY source_offset LIMIT ${limit}`,
      );
      return rows.map((r) => ({
        model_version: Number(r.model_version),
        event_time_ms: Number(r.time_ms),
        feature_values: r.features.map(numberFromText),
        label: r.label,
        score: numberFromText(r.score_text),
        source_offset: r.offset_text,
      }));
    },
    async newestStoredEventTime(partition) {
      const [row] = await clickhouse.query<{ newest: string; n: string }>(
        `SELECT toString(max(event_time_ms)) AS newest, toString(count()) AS n FROM ${database}.${deps.sourceTable}
         WHERE pipeline = '${pipeline}' AND source_partition = ${partition}`,
      );
      return Number(row?.n ?? 0) > 0 ? Number(row?.newest) : Number.NEGATIVE_INFINITY;
    },
    async decisions(through) {
      if (!Number.isFinite(through)) return [];
      const rows = await clickhouse.query<{ feature: string; drifted: number }>(
        `SELECT feature, drifted FROM ${database}.drift_metrics FINAL
         WHERE pipeline = '${pipeline}' AND statistic LIKE 'drift:%' AND toUInt64(window_end) * 1000 <= ${toStored(through)}
           AND model_version IN (SELECT DISTINCT model_version FROM ${database}.predictions WHERE pipeline = '${pipeline}')
           AND window_end >= toDateTime(${Math.floor(Math.max(0, through - 7 * 86_400_000) / 1000)})
         ORDER BY window_start, model_version, feature`,
      );
      return rows.map((r) => ({ feature: r.feature, drifted: Number(r.drifted) === 1 }));
    },
  };
}
