// The RowBinary encoder against ClickHouse's definition of the format: expected bytes are written
// out by hand from that definition (little-endian integers and floats, LEB128 lengths, a Nullable
// prefix byte, DateTime as UInt32 seconds), not produced by the encoder itself.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  deadLettersTable,
  driftMetricsTable,
  labelsTable,
  modelEventsTable,
  predictionRow,
  predictionsTable,
} from "../../../../services/monitor/rows.ts";
import { migrationsDir } from "../../../../services/shared/clickhouse/migrations.ts";
import {
  encodeRows,
  RowBinaryWriter,
  rowBinaryTable,
  valueWriter,
  varUIntSize,
} from "../../../../services/shared/clickhouse/row-binary.ts";

function encode(type: string, value: unknown): number[] {
  const writer = new RowBinaryWriter(1);
  valueWriter(type)(writer, value, "c");
  return [...writer.bytes()];
}

const hex = (text: string) => [...Buffer.from(text.replace(/\s+/g, ""), "hex")];

describe("RowBinary scalars", () => {
  it("writes integers little-endian in their width", () => {
    expect(encode("UInt8", 0xab)).toEqual([0xab]);
    expect(encode("UInt16", 0x1234)).toEqual(hex("3412"));
    expect(encode("UInt32", 0xdeadbeef)).toEqual(hex("efbeadde"));
    expect(encode("Int8", -2)).toEqual([0xfe]);
    expect(encode("Int16", -2)).toEqual(hex("feff"));
    expect(encode("Int32", -2)).toEqual(hex("feffffff"));
    expect(encode("UInt64", 1)).toEqual(hex("0100000000000000"));
    expect(encode("UInt64", 2 ** 32 + 5)).toEqual(hex("0500000001000000"));
    expect(encode("UInt64", Number.MAX_SAFE_INTEGER)).toEqual(hex("ffffffffffff1f00"));
    expect(encode("Int64", -1)).toEqual(hex("ffffffffffffffff"));
    expect(encode("Int64", -(2 ** 32) - 1)).toEqual(hex("fffffffffeffffff"));
  });

  it("takes 64-bit integers as decimal strings and bigints over the whole range", () => {
    expect(encode("UInt64", "18446744073709551615")).toEqual(hex("ffffffffffffffff"));
    expect(encode("UInt64", "9007199254740993")).toEqual(hex("0100000000002000"));
    expect(encode("UInt64", "42")).toEqual(hex("2a00000000000000"));
    expect(encode("Int64", "-9223372036854775808")).toEqual(hex("0000000000000080"));
    expect(encode("Int64", 2n ** 62n)).toEqual(hex("0000000000000040"));
    expect(encode("Int64", "-1")).toEqual(hex("ffffffffffffffff"));
  });

  it("refuses values a column cannot hold instead of wrapping them", () => {
    for (const [type, value] of [
      ["UInt8", 256],
      ["UInt8", -1],
      ["UInt16", 1.5],
      ["UInt32", 2 ** 32],
      ["Int32", 2 ** 31],
      ["UInt64", -1],
      ["UInt64", "18446744073709551616"],
      ["UInt64", "-1"],
      ["UInt64", 2 ** 53],
      ["UInt64", "12abc"],
      ["Int64", "9223372036854775808"],
      ["Float64", "0.1"],
      ["String", 5],
      ["String", undefined],
      ["DateTime('UTC')", -1],
      ["DateTime('UTC')", 2 ** 32],
      ["Array(Float64)", 1],
    ] as const) {
      expect(() => encode(type, value), `${type} ${String(value)}`).toThrow(/cannot hold/);
    }
  });

  it("writes Float64 and Float32 as IEEE 754 little-endian, NaN and infinities included", () => {
    expect(encode("Float64", 0.1)).toEqual(hex("9a9999999999b93f"));
    expect(encode("Float64", 0.1 + 0.2)).toEqual(hex("343333333333d33f"));
    expect(encode("Float64", 5e-324)).toEqual(hex("0100000000000000"));
    expect(encode("Float64", 1.7976931348623157e308)).toEqual(hex("ffffffffffffef7f"));
    expect(encode("Float64", -0)).toEqual(hex("0000000000000080"));
    expect(encode("Float64", Number.POSITIVE_INFINITY)).toEqual(hex("000000000000f07f"));
    expect(encode("Float64", Number.NaN)).toEqual(hex("000000000000f87f"));
    expect(encode("Float32", 1.5)).toEqual(hex("0000c03f"));
  });

  it("writes Date as UInt16 days and DateTime as UInt32 seconds, whatever the time zone", () => {
    expect(encode("Date", 17_000)).toEqual(hex("6842"));
    expect(encode("DateTime", 1_700_000_000)).toEqual(hex("00f15365"));
    expect(encode("DateTime('UTC')", 1_700_000_000)).toEqual(hex("00f15365"));
  });
});

describe("RowBinary strings, arrays, Nullable", () => {
  it("writes LEB128 lengths: 7 bits a byte, low bits first", () => {
    const varint = (n: number) => {
      const writer = new RowBinaryWriter(1);
      writer.varUInt(n);
      return [...writer.bytes()];
    };
    expect(varint(0)).toEqual([0]);
    expect(varint(127)).toEqual([0x7f]);
    expect(varint(128)).toEqual([0x80, 0x01]);
    expect(varint(300)).toEqual([0xac, 0x02]);
    expect(varint(16_384)).toEqual([0x80, 0x80, 0x01]);
    expect(varint(2 ** 32)).toEqual([0x80, 0x80, 0x80, 0x80, 0x10]);
    expect([0, 127, 128, 16_383, 16_384].map(varUIntSize)).toEqual([1, 1, 2, 2, 3]);
  });

  it("writes strings as UTF-8 bytes after their byte length", () => {
    expect(encode("String", "")).toEqual([0]);
    expect(encode("String", "a")).toEqual([1, 0x61]);
    expect(encode("String", "é")).toEqual([2, 0xc3, 0xa9]);
    expect(encode("String", "€😀")).toEqual([7, 0xe2, 0x82, 0xac, 0xf0, 0x9f, 0x98, 0x80]);
    expect(encode("String", "a\n'\"\\\t\0")).toEqual([7, 0x61, 0x0a, 0x27, 0x22, 0x5c, 0x09, 0x00]);
    expect(encode("String", new Uint8Array([0xff, 0x00]))).toEqual([2, 0xff, 0x00]);
  });

  it("moves a string along when its length needs more than one LEB128 byte", () => {
    for (const length of [127, 128, 200, 16_383, 16_384, 70_000]) {
      const text = `${"x".repeat(length - 2)}é`;
      const bytes = encode("String", text);
      const lengthBytes = varUIntSize(length);
      expect(bytes.length).toBe(lengthBytes + length);
      const writer = new RowBinaryWriter(1);
      writer.varUInt(length);
      expect(bytes.slice(0, lengthBytes)).toEqual([...writer.bytes()]);
      expect(Buffer.from(bytes.slice(lengthBytes)).toString("utf8")).toBe(text);
    }
  });

  it("writes arrays as an element count and the elements, nested too", () => {
    expect(encode("Array(Float64)", [])).toEqual([0]);
    expect(encode("Array(Float64)", [1.5, -2])).toEqual([2, ...hex("000000000000f83f"), ...hex("00000000000000c0")]);
    expect(encode("Array(String)", ["a", ""])).toEqual([2, 1, 0x61, 0]);
    expect(encode("Array(Array(UInt8))", [[1], [2, 3]])).toEqual([2, 1, 1, 2, 2, 3]);
  });

  it("prefixes Nullable values with one byte: 1 for NULL, 0 before a value", () => {
    expect(encode("Nullable(UInt8)", null)).toEqual([1]);
    expect(encode("Nullable(UInt8)", undefined)).toEqual([1]);
    expect(encode("Nullable(UInt8)", 5)).toEqual([0, 5]);
    expect(encode("Nullable(String)", "a")).toEqual([0, 1, 0x61]);
    expect(encode("Array(Nullable(UInt8))", [null, 7])).toEqual([2, 1, 0, 7]);
  });

  it("writes LowCardinality(T) as T and refuses types it does not know", () => {
    expect(encode("LowCardinality(String)", "ab")).toEqual([2, 0x61, 0x62]);
    expect(() => valueWriter("DateTime64(3)")).toThrow(/not supported/);
    expect(() => valueWriter("Decimal(9, 2)")).toThrow(/not supported/);
  });
});

describe("rows", () => {
  const table = rowBinaryTable<{ id: string; n: number }>([
    { name: "id", type: "String" },
    { name: "n", type: "UInt8" },
  ]);

  it("writes columns in order, rows one after another, and grows its buffer", () => {
    const rows = Array.from({ length: 3000 }, (_, i) => ({ id: `r${i}`, n: i % 256 }));
    const encoded = encodeRows(table, rows);
    expect(encoded.columns).toEqual(["id", "n"]);
    expect(encoded.rows).toBe(3000);
    const expected = Buffer.concat(rows.map((r) => Buffer.from([r.id.length, ...Buffer.from(r.id), r.n])));
    expect(encoded.bytes.equals(expected)).toBe(true);
  });

  it("leaves out a row that fails half-way, and reports it", () => {
    const failed: number[] = [];
    const encoded = encodeRows(
      table,
      [
        { id: "a", n: 1 },
        { id: "b", n: 999 },
        { id: "c", n: 3 },
      ],
      (index) => failed.push(index),
    );
    expect(failed).toEqual([1]);
    expect(encoded.rows).toBe(2);
    expect([...encoded.bytes]).toEqual([1, 0x61, 1, 1, 0x63, 3]);
    expect(() => encodeRows(table, [{ id: "b", n: -1 }])).toThrow(/column n/);
  });

  it("encodes a prediction row byte for byte", () => {
    const row = predictionRow(
      {
        event_id: "e",
        pipeline: "p",
        entity: "",
        event_time: 1_700_000_000_999,
        ingest_time: 1,
        transform_time: 2,
        score_time: 3,
        model_name: "m",
        model_version: 7,
        label: "1",
        score: 0.5,
        class_labels: ["0", "1"],
        probabilities: [0.5, 0.5],
        features: [0.1],
      },
      ["f"],
      2,
      "9",
      1_700_000_001_000,
    );
    const { bytes } = encodeRows(predictionsTable, [row]);
    const half = "000000000000e03f";
    expect(bytes.toString("hex")).toBe(
      [
        "0165", // event_id
        "0170", // pipeline
        "00", // entity
        "00f15365", // event_time: seconds
        "e76be5cf8b010000", // event_time_ms
        "0100000000000000",
        "0200000000000000",
        "0300000000000000",
        "01f15365", // insert_time
        "016d", // model_name
        "07000000", // model_version
        "086368616d70696f6e", // model_role: "champion" (a record from before roles)
        "0131", // label
        half, // score
        "0201300131", // class_labels
        `02${half}${half}`, // probabilities
        "010166", // feature_names
        "019a9999999999b93f", // feature_values
        "0200", // source_partition
        "0900000000000000", // source_offset
      ].join(""),
    );
  });
});

/**
 * Columns of a table as the migrations leave it (its CREATE TABLE, then each ALTER TABLE … ADD
 * COLUMN … AFTER …), MATERIALIZED and ALIAS columns left out.
 */
function migrationColumns(table: string): Array<{ name: string; type: string }> {
  const files = readdirSync(migrationsDir)
    .filter((f) => f.endsWith(".sql"))
    .sort()
    .map((f) => readFileSync(join(migrationsDir, f), "utf8"));
  const text = files.join("\n");
  const start = text.indexOf(`CREATE TABLE IF NOT EXISTS \${DATABASE}.${table}\n`);
  const body = text.slice(text.indexOf("(", start) + 1, text.indexOf("\n)", start));
  const column = (line: string) => {
    const [name = "", ...rest] = line.split(/\s+/);
    return { name, type: rest.join(" ").replace(/\s+(DEFAULT|AFTER)\s+.*$/, "") };
  };
  const columns = body
    .split("\n")
    .map((line) => line.trim().replace(/,$/, ""))
    .filter((line) => line.length > 0 && !/\b(MATERIALIZED|ALIAS)\b/.test(line))
    .map(column);
  const alter = new RegExp(`ALTER TABLE \\$\\{DATABASE\\}\\.${table} ADD COLUMN (.+?) AFTER (\\w+);`, "g");
  for (const [, definition = "", after = ""] of text.matchAll(alter)) {
    columns.splice(columns.findIndex((c) => c.name === after) + 1, 0, column(definition));
  }
  return columns;
}

describe("table encoders", () => {
  it("name every insertable column of the migrations, with the same types, in order", () => {
    expect(predictionsTable.columns).toEqual(migrationColumns("predictions"));
    expect(deadLettersTable.columns).toEqual(migrationColumns("dead_letters"));
    expect(labelsTable.columns).toEqual(migrationColumns("labels"));
    expect(driftMetricsTable.columns).toEqual(migrationColumns("drift_metrics"));
    expect(modelEventsTable.columns).toEqual(migrationColumns("model_events"));
  });
});
