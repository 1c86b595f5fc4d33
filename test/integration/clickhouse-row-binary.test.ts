// RowBinary inserts on the real ClickHouse, into tables made by the production migrations: the
// encoders name the server's columns with the server's types, and values that a JSON insert parses
// to a neighbouring double (or that JSON cannot carry at all) come back bit for bit, as do strings
// with quotes, newlines, NUL bytes and UTF-8 and 64-bit offsets at the top of their range. An insert
// whose query id is still running is refused as retriable, so a sink's retry waits for a late copy.
import { type AddressInfo, connect, createServer } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  deadLettersTable,
  driftMetricsTable,
  labelRow,
  labelsTable,
  modelEventsTable,
  predictionRow,
  predictionsTable,
  shadowPredictionsTable,
} from "../../services/monitor/rows.ts";
import { type ClickHouse, createClickHouse } from "../../services/shared/clickhouse/client.ts";
import { migrate } from "../../services/shared/clickhouse/migrations.ts";
import { encodeRows } from "../../services/shared/clickhouse/row-binary.ts";
import { isStreamscoreError } from "../../services/shared/errors.ts";
import type { ScoredRecord } from "../../services/shared/pipeline/records.ts";
import { testConnectionConfig, uniqueName, waitFor } from "../helpers/integration.ts";

/** The IEEE 754 bytes of a double, as ClickHouse's hex(reinterpretAsString(x)) shows them. */
function bits(value: number): string {
  const buffer = Buffer.alloc(8);
  buffer.writeDoubleLE(value);
  return buffer.toString("hex").toUpperCase();
}

/** reinterpretAsString drops trailing zero bytes. */
const padded = (hex: string) => hex.padEnd(16, "0");

/** Deterministic doubles over many magnitudes (xorshift; no Math.random in tests). */
function spreadDoubles(count: number, seed: number): number[] {
  let state = seed >>> 0 || 1;
  const next = () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 2 ** 32;
  };
  return Array.from({ length: count }, () => (next() - 0.5) * 10 ** Math.floor(next() * 60 - 30));
}

// Values ClickHouse 18.16's JSON input parses one ulp off (found by inserting them as JSONEachRow),
// the extremes of the type, values JSON cannot carry, and values around ulp boundaries.
const hardDoubles = [
  0.1 + 0.2,
  5e-324,
  -5e-324,
  1.7976931348623157e308,
  -1.7976931348623157e308,
  2.2250738585072014e-308,
  2.225073858507201e-308,
  1.23456789e-295,
  8.41e21,
  6.435519139435273e-15,
  4.131697355980839e-8,
  8.85328745041033e-14,
  1.0000000000000002,
  0.9999999999999999,
  2 ** 53 + 2,
  Math.PI,
  -0,
  Number.POSITIVE_INFINITY,
  Number.NEGATIVE_INFINITY,
  ...spreadDoubles(200, 17),
];

const hardStrings = [
  "",
  'it\'s "quoted"',
  "line\nbreak\r\ttab\\backslash",
  "nul\u0000byte",
  "Grüße, €, 😀, 中文",
  "x".repeat(127),
  "é".repeat(64),
  "long ".repeat(5000),
];

describe("RowBinary inserts", () => {
  const config = testConnectionConfig();
  const database = uniqueName("streamscore_rowbinary");
  let clickhouse: ClickHouse;

  beforeAll(async () => {
    clickhouse = createClickHouse(config);
    await migrate(clickhouse, database);
  });
  afterAll(async () => {
    await clickhouse?.command(`DROP DATABASE IF EXISTS ${database}`);
    await clickhouse?.close();
  });

  it("name every insertable column of each table with the server's type", async () => {
    const tables = {
      predictions: predictionsTable,
      dead_letters: deadLettersTable,
      labels: labelsTable,
      drift_metrics: driftMetricsTable,
      shadow_predictions: shadowPredictionsTable,
      model_events: modelEventsTable,
    };
    for (const [table, encoder] of Object.entries(tables)) {
      const columns = await clickhouse.query<{ name: string; type: string }>(
        `SELECT name, type FROM system.columns WHERE database = '${database}' AND table = '${table}' AND default_kind != 'MATERIALIZED'`,
      );
      expect(encoder.columns, table).toEqual(columns);
    }
  });

  it("stores doubles, strings and 64-bit integers bit-exact", async () => {
    const base: ScoredRecord = {
      event_id: "",
      pipeline: "exact",
      entity: "",
      event_time: 1_700_000_000_123,
      ingest_time: 1_700_000_000_000,
      transform_time: 1_700_000_000_050,
      score_time: 1_700_000_000_100,
      model_name: "m",
      model_version: 4_294_967_295,
      label: "1",
      score: 0,
      class_labels: ["0", "1"],
      probabilities: [0, 0],
      features: [],
    };
    // The sink refuses scores outside [0, 1] and non-finite features before they reach the
    // encoder; the format is tested here on every double, so the row's numbers are set after.
    const rows = hardDoubles.map((value, i) => ({
      ...predictionRow(
        {
          ...base,
          event_id: `e${i}`,
          entity: hardStrings[i % hardStrings.length] as string,
          label: hardStrings[(i + 3) % hardStrings.length] as string,
        },
        ["a", "b'", "c\n", "d", "é"],
        i % 65_536,
        i === 0 ? "18446744073709551615" : String(2 ** 53 + i),
        1_700_000_100_000,
      ),
      score: value,
      probabilities: [value, -value],
      feature_values: hardDoubles.slice(i, i + 5),
    }));
    await clickhouse.insertRowBinary(`${database}.predictions`, encodeRows(predictionsTable, rows));

    const back = await clickhouse.query<{
      event_id: string;
      entity: string;
      label: string;
      score: string;
      probabilities: string[];
      features: string[];
      names: string[];
      offset: string;
      partition: number;
      version: number;
      event_time: string;
      event_time_ms: string;
    }>(
      `SELECT event_id, hex(entity) AS entity, hex(label) AS label, hex(reinterpretAsString(score)) AS score,
              arrayMap(x -> hex(reinterpretAsString(x)), probabilities) AS probabilities,
              arrayMap(x -> hex(reinterpretAsString(x)), feature_values) AS features,
              arrayMap(x -> hex(x), feature_names) AS names,
              toString(source_offset) AS offset, source_partition AS partition, model_version AS version,
              toString(toUnixTimestamp(event_time)) AS event_time, toString(event_time_ms) AS event_time_ms
       FROM ${database}.predictions`,
    );
    expect(back).toHaveLength(rows.length);
    const byId = new Map(back.map((r) => [r.event_id, r]));
    const hex = (text: string) => Buffer.from(text, "utf8").toString("hex").toUpperCase();
    for (const row of rows) {
      const stored = byId.get(row.event_id);
      expect(stored, row.event_id).toBeDefined();
      if (!stored) continue;
      expect(padded(stored.score), `score ${row.score}`).toBe(bits(row.score));
      expect(stored.probabilities.map(padded)).toEqual(row.probabilities.map(bits));
      expect(stored.features.map(padded)).toEqual(row.feature_values.map(bits));
      expect(stored.entity).toBe(hex(row.entity));
      expect(stored.label).toBe(hex(row.label));
      expect(stored.names).toEqual(row.feature_names.map(hex));
      expect(stored.offset).toBe(row.source_offset);
      expect(stored.partition).toBe(row.source_partition);
      expect(Number(stored.version)).toBe(4_294_967_295);
      expect(stored.event_time).toBe("1700000000");
      expect(stored.event_time_ms).toBe("1700000000123");
    }
  });

  it("stores dead letters and labels, signed 64-bit values included", async () => {
    const deadLetter = {
      pipeline: "exact",
      dlq_partition: 0,
      dlq_offset: "18446744073709551615",
      received_time: 1_700_000_000,
      error_code: "AVRO_DECODE_FAILED",
      error_message: 'bad "record"\nat byte 3',
      error_stage: "transformer",
      original_topic: "exact.raw",
      original_partition: -1,
      original_offset: "-9223372036854775808",
      key: "k\u0000",
      value_base64: "AAEC",
    };
    await clickhouse.insertRowBinary(`${database}.dead_letters`, encodeRows(deadLettersTable, [deadLetter]));
    const label = {
      pipeline: "exact",
      event_id: "é",
      label: "1",
      label_time: 1_700_000_000,
      label_time_ms: 1_700_000_000_999,
      source_partition: 65_535,
      source_offset: "9007199254740993",
    };
    await clickhouse.insertRowBinary(`${database}.labels`, encodeRows(labelsTable, [label]));

    const [storedDeadLetter] = await clickhouse.query<Record<string, unknown>>(
      `SELECT toString(dlq_offset) AS dlq_offset, toString(original_offset) AS original_offset, original_partition,
              error_message, key, toString(toUnixTimestamp(received_time)) AS received
       FROM ${database}.dead_letters`,
    );
    expect(storedDeadLetter).toEqual({
      dlq_offset: deadLetter.dlq_offset,
      original_offset: deadLetter.original_offset,
      original_partition: -1,
      error_message: deadLetter.error_message,
      key: deadLetter.key,
      received: "1700000000",
    });
    const [storedLabel] = await clickhouse.query<Record<string, unknown>>(
      `SELECT event_id, toString(label_time_ms) AS ms, source_partition, toString(source_offset) AS offset FROM ${database}.labels`,
    );
    expect(storedLabel).toEqual({
      event_id: "é",
      ms: "1700000000999",
      source_partition: 65_535,
      offset: "9007199254740993",
    });
  });

  it("reports a refused insert as a query failure that is not retried", async () => {
    // One byte short: the server cannot read the row.
    const encoded = encodeRows(labelsTable, [
      {
        pipeline: "p",
        event_id: "e",
        label: "1",
        label_time: 1,
        label_time_ms: 1,
        source_partition: 0,
        source_offset: "1",
      },
    ]);
    const error = await clickhouse
      .insertRowBinary(`${database}.labels`, { ...encoded, bytes: encoded.bytes.subarray(0, encoded.bytes.length - 1) })
      .catch((e: unknown) => e);
    expect(isStreamscoreError(error) && error.code).toBe("CLICKHOUSE_QUERY_FAILED");
    expect(isStreamscoreError(error) && error.retriable).toBe(false);
  });

  it("reports an unreachable server as retriable", async () => {
    // A port that was free a moment ago: nothing listens there.
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as AddressInfo;
    await new Promise((resolve) => server.close(resolve));
    const closed = createClickHouse({ ...config, CLICKHOUSE_URL: `http://127.0.0.1:${port}` });
    try {
      const encoded = encodeRows(labelsTable, []);
      // An empty batch sends nothing, so it cannot fail.
      await closed.insertRowBinary(`${database}.labels`, encoded);
      const error = await closed
        .insertRowBinary(`${database}.labels`, { ...encoded, rows: 1, bytes: Buffer.from([0]) })
        .catch((e: unknown) => e);
      expect(isStreamscoreError(error) && error.code).toBe("CLICKHOUSE_UNAVAILABLE");
      expect(isStreamscoreError(error) && error.retriable).toBe(true);
    } finally {
      await closed.close();
    }
  });

  it("reports an insert refused while one with the same query id runs as retriable, and runs it after", async () => {
    await clickhouse.command(`CREATE TABLE ${database}.held (s String) ENGINE = Memory`);
    const queryId = uniqueName("held");
    // An insert kept running by a body that does not end; 18.16 starts an HTTP insert only once it
    // has read 1 MiB of the body (or all of it), so the first chunk is larger.
    const { hostname, port } = new URL(config.CLICKHOUSE_URL);
    const held = connect(Number(port), hostname);
    const answer = new Promise<string>((resolve, reject) => {
      let text = "";
      held.on("data", (chunk: Buffer) => {
        text += chunk.toString();
      });
      held.on("end", () => resolve(text));
      held.on("error", reject);
    });
    const query = encodeURIComponent(`INSERT INTO ${database}.held FORMAT TSV`);
    const credentials = Buffer.from(`${config.CLICKHOUSE_USER}:${config.CLICKHOUSE_PASSWORD ?? ""}`).toString("base64");
    const body = "x\n".repeat(600_000);
    held.write(
      `POST /?query_id=${queryId}&query=${query} HTTP/1.1\r\nHost: ${hostname}\r\nAuthorization: Basic ${credentials}\r\n` +
        `Connection: close\r\nTransfer-Encoding: chunked\r\n\r\n${body.length.toString(16)}\r\n${body}\r\n`,
    );
    try {
      await waitFor("the held insert to run", async () => {
        const running = await clickhouse.query(`SELECT 1 FROM system.processes WHERE query_id = '${queryId}'`);
        return running.length > 0 ? true : undefined;
      });
      const label = labelRow("p", { event_id: "held", label: "1", label_time: 1_700_000_000_000 }, 0, "1");
      const encoded = encodeRows(labelsTable, [label]);
      const error = await clickhouse
        .insertRowBinary(`${database}.labels`, encoded, { queryId })
        .catch((e: unknown) => e);
      expect(isStreamscoreError(error) && error.message).toMatch(/HTTP 500: Code: 216\b/);
      expect(isStreamscoreError(error) && error.retriable).toBe(true);

      held.end("0\r\n\r\n");
      expect(await answer).toMatch(/^HTTP\/1\.1 200 /);
      await clickhouse.insertRowBinary(`${database}.labels`, encoded, { queryId });
      const [stored] = await clickhouse.query<{ n: string }>(
        `SELECT count() AS n FROM ${database}.labels WHERE event_id = 'held'`,
      );
      expect(stored?.n).toBe("1");
    } finally {
      held.destroy();
    }
  });
});
