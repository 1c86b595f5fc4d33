// The drift monitor as the predictions sink drives it: a batch is queued and the caller goes on
// as soon as the batch before it is done; windows closed by a batch are stored with one insert; a
// failure reaches the next caller. ClickHouse and Kafka are stand-ins that record what they get.
import { describe, expect, it } from "vitest";
import { createDriftMonitor, type DriftInput } from "../../../services/monitor/drift-monitor.ts";
import { createMonitorMetrics } from "../../../services/monitor/metrics.ts";
import type { ClickHouse } from "../../../services/shared/clickhouse/client.ts";
import type { EncodedRows } from "../../../services/shared/clickhouse/row-binary.ts";
import { StreamscoreError } from "../../../services/shared/errors.ts";
import type { Producer } from "../../../services/shared/kafka/client.ts";
import type { SchemaRegistryClient } from "../../../services/shared/kafka/registry.ts";
import { createLogger } from "../../../services/shared/logger.ts";
import { createRegistry } from "../../../services/shared/metrics.ts";
import { featureNames } from "../../../services/shared/pipeline/definition.ts";
import { getPipeline } from "../../../services/shared/pipelines/index.ts";
import { projectRoot } from "../../../services/shared/project.ts";

const definition = getPipeline("payments");
const windowMs = definition.monitoring.windowSeconds * 1000;
const latenessMs = definition.monitoring.allowedLatenessSeconds * 1000;
const start = Math.floor(Date.UTC(2026, 0, 1) / windowMs) * windowMs;

function row(eventTime: number): DriftInput {
  return {
    model_version: 1,
    event_time_ms: eventTime,
    feature_values: featureNames(definition).map((_, i) => i + 1),
    label: "0",
    score: 0.1,
  };
}

/** Rows that fill window `index` and move the watermark past its end (so it closes). */
function windowRows(index: number): DriftInput[] {
  const from = start + index * windowMs;
  return [row(from), row(from + windowMs / 2), row(from + windowMs + latenessMs + 1)];
}

function deferred() {
  let release = () => {};
  const promise = new Promise<void>((resolve) => {
    release = resolve;
  });
  return { promise, release };
}

function setUp(
  insert: (table: string, encoded: EncodedRows) => Promise<void>,
  role?: "decision" | "shadow",
  options: { query?: (sql: string) => unknown[] | undefined; rebuildPageRows?: number } = {},
) {
  // The first stored event (the warm-up line) is where the test's rows begin. Unless the test says
  // otherwise, nothing else is stored: no progress of earlier instances, no parts of other partitions.
  const clickhouse = {
    insertRowBinary: insert,
    insertRows: async () => {},
    query: async (sql: string) =>
      options.query?.(sql) ?? (sql.includes("min(event_time_ms)") ? [{ first: String(start) }] : []),
  } as unknown as ClickHouse;
  const sent: unknown[] = [];
  const producer = { send: async (record: unknown) => void sent.push(record) } as unknown as Producer;
  const registry = { register: async () => 1, resolve: async () => ({}) } as unknown as SchemaRegistryClient;
  const drift = createDriftMonitor({
    registry,
    clickhouse,
    producer,
    database: "db",
    logger: createLogger({ name: "test", level: "silent" }),
    metrics: createMonitorMetrics(createRegistry("test")),
    definition,
    modelsRoot: projectRoot,
    maxBackoffMs: 1000,
    now: () => start + 100 * windowMs,
    role,
    rebuildPageRows: options.rebuildPageRows,
  });
  return { drift, sent };
}

describe("drift monitor queue", () => {
  it("lets the caller go on while its batch is stored, and holds the next caller until then", async () => {
    const inserts: Array<{ table: string; rows: number }> = [];
    const gate = deferred();
    const { drift } = setUp(async (table, encoded) => {
      inserts.push({ table, rows: encoded.rows });
      await gate.promise;
    });
    // Resolves at once: nothing was queued before it.
    await drift.observe(0, windowRows(0));
    let secondDone = false;
    const second = drift.observe(0, windowRows(1)).then(() => {
      secondDone = true;
    });
    await new Promise((resolve) => setImmediate(resolve));
    expect(inserts).toHaveLength(1);
    expect(inserts[0]?.table).toBe("db.drift_metrics");
    expect(inserts[0]?.rows).toBeGreaterThan(0);
    expect(secondDone).toBe(false);
    gate.release();
    await second;
    expect(secondDone).toBe(true);
    await drift.settle();
    expect(inserts).toHaveLength(2);
  });

  it("stores every window a batch closes with one insert", async () => {
    const inserts: number[] = [];
    const { drift } = setUp(async (_table, encoded) => {
      inserts.push(encoded.rows);
    });
    const rows = [0, 1, 2].flatMap((i) => windowRows(i).slice(0, 2));
    rows.push(row(start + 3 * windowMs + latenessMs + 1));
    await drift.observe(0, rows);
    await drift.settle();
    expect(inserts).toHaveLength(1);
    const oneWindow: number[] = [];
    const single = setUp(async (_table, encoded) => {
      oneWindow.push(encoded.rows);
    });
    await single.drift.observe(0, windowRows(0));
    await single.drift.settle();
    expect(inserts[0]).toBe(3 * (oneWindow[0] ?? Number.NaN));
  });

  it("fails the next batch when storing one failed, and reports the error", async () => {
    const { drift } = setUp(async () => {
      throw new StreamscoreError("CLICKHOUSE_QUERY_FAILED", "refused");
    });
    await drift.observe(0, windowRows(0));
    await expect(drift.observe(0, windowRows(1))).rejects.toThrow("refused");
    await expect(drift.observe(0, windowRows(2))).rejects.toThrow("refused");
    await drift.settle();
    expect(drift.lastError).toContain("refused");
  });

  it("reports a ClickHouse outage while it retries, and is clear again once a call succeeds", async () => {
    let refusals = 2;
    const { drift } = setUp(async () => {}, undefined, {
      query: (sql) => {
        if (sql.includes("drift_progress") && refusals > 0) {
          refusals -= 1;
          throw new StreamscoreError("CLICKHOUSE_UNAVAILABLE", "connect ECONNREFUSED");
        }
        return undefined;
      },
    });
    // A partition new here reads the stored progress first: refused twice, then answered.
    drift.assign([{ partition: 0, caughtUp: true }], [0]);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(drift.lastError).toContain("ECONNREFUSED");
    await drift.settle();
    expect(refusals).toBe(0);
    expect(drift.lastError).toBeUndefined();
  });

  it("gives a shadow version windows of its prediction only, and raises no alerts for it", async () => {
    const stored: EncodedRows[] = [];
    const shadow = setUp(async (_table, encoded) => {
      stored.push(encoded);
    }, "shadow");
    // A shadow's rows carry no features; its constant score drifts against its reference.
    const rows = [0, 1, 2, 3].flatMap((i) => windowRows(i)).map((r) => ({ ...r, feature_values: [], score: 0.999 }));
    await shadow.drift.observe(0, rows);
    await shadow.drift.settle();
    expect(stored.length).toBeGreaterThan(0);
    const bytes = Buffer.concat(stored.map((e) => e.bytes));
    expect(bytes.includes("prediction")).toBe(true);
    for (const feature of featureNames(definition)) expect(bytes.includes(feature), feature).toBe(false);
    expect(shadow.sent).toEqual([]);
    // The deciding version's monitor, on the same windows with their features, stores those too.
    const decided: EncodedRows[] = [];
    const decision = setUp(async (_table, encoded) => {
      decided.push(encoded);
    });
    await decision.drift.observe(
      0,
      [0, 1, 2, 3].flatMap((i) => windowRows(i)),
    );
    await decision.drift.settle();
    expect(Buffer.concat(decided.map((e) => e.bytes)).includes("amount")).toBe(true);
  });

  it("closes a window without a stored part its reference cannot take, instead of stopping", async () => {
    const inserts: string[] = [];
    const { drift } = setUp(async (table) => void inserts.push(table), "decision", {
      query: (sql) =>
        sql.includes("drift_parts")
          ? [
              {
                model_version: 1,
                first_ms: String(start),
                end_ms: String(start + windowMs),
                partition: 1,
                state: '{"size":3,"features":{}}',
              },
            ]
          : undefined,
    });
    await drift.observe(0, windowRows(0));
    await drift.observe(0, windowRows(1));
    await drift.settle();
    expect(drift.lastError).toBeUndefined();
    expect(inserts).toEqual(["db.drift_metrics", "db.drift_metrics"]);
  });

  it("rebuilds a partition new to it from the stored predictions, page by page, and skips what the rebuild read", async () => {
    // Partition 0 was another instance's; nothing of it is sealed yet. Six of its rows are stored.
    const none = String(-Number.MAX_SAFE_INTEGER);
    const stored = [0, 1, 2, 3, 4, 5].map((i) => ({ ...row(start + i * 1000), source_offset: String(i) }));
    const pages: string[] = [];
    const inserted: EncodedRows[] = [];
    const { drift } = setUp(async (_table, encoded) => void inserted.push(encoded), "decision", {
      rebuildPageRows: 4,
      query: (sql) => {
        if (sql.includes("drift_progress")) {
          return [{ partition: 0, newest: none, sealed: none, caught_up: 1, heard: "0", owner: "gone", updated: "0" }];
        }
        if (!sql.includes("AS time_ms")) return undefined;
        pages.push(sql);
        const after = Number(/source_offset > (\d+)/.exec(sql)?.[1] ?? -1);
        const limit = Number(/LIMIT (\d+)/.exec(sql)?.[1]);
        return stored
          .filter((r) => Number(r.source_offset) > after)
          .slice(0, limit)
          .map((r) => ({
            model_version: 1,
            time_ms: String(r.event_time_ms),
            features: r.feature_values.map(String),
            label: r.label,
            score_text: String(r.score),
            offset_text: r.source_offset,
          }));
      },
    });
    drift.assign([{ partition: 0, caughtUp: true }], [0]);
    // The sink then hands over rows 4 and 5 again (stored between the rebuild's query and this batch) and row 6.
    const later = [4, 5, 6].map((i) => ({ ...row(start + i * 1000), source_offset: String(i) }));
    await drift.observe(0, [...later, { ...row(start + windowMs + latenessMs + 1), source_offset: "7" }]);
    await drift.settle();
    drift.stop();
    expect(pages).toHaveLength(2);
    expect(inserted).toHaveLength(1);
    expect(sampleSizeOfFirstRow(inserted[0] as EncodedRows)).toBe(7);
  });
});

/** `sample_size` of the first drift_metrics row in RowBinary (strings: LEB128 length, then bytes). */
function sampleSizeOfFirstRow(encoded: EncodedRows): number {
  const bytes = Buffer.from(encoded.bytes);
  let at = 0;
  const skipString = () => {
    let length = 0;
    let shift = 0;
    for (;;) {
      const byte = bytes[at++] as number;
      length |= (byte & 0x7f) << shift;
      shift += 7;
      if (byte < 0x80) break;
    }
    at += length;
  };
  skipString(); // pipeline
  skipString(); // model_name
  at += 4 + 4 + 4; // model_version, window_start, window_end
  skipString(); // feature
  skipString(); // feature_type
  skipString(); // statistic
  at += 8 + 8 + 1; // value, threshold, drifted
  return Number(bytes.readBigUInt64LE(at));
}
