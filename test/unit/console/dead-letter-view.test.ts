import { describe, expect, it } from "vitest";
import { viewBytes } from "../../../services/console/dead-letter-view.ts";

describe("viewBytes", () => {
  it("dumps bytes as offset, hex and printable ASCII, 16 per line", () => {
    const view = viewBytes(Buffer.from("not avro at all, clearly"));
    expect(view.size).toBe(24);
    expect(view.hex).toEqual([
      "00000000  6e 6f 74 20 61 76 72 6f 20 61 74 20 61 6c 6c 2c  not avro at all,",
      "00000010  20 63 6c 65 61 72 6c 79                           clearly",
    ]);
    expect(view.truncated).toBe(false);
    expect(view.schemaId).toBeUndefined();
    expect(view.json).toBeUndefined();
  });

  it("reads the schema id of a Confluent wire-format value", () => {
    expect(viewBytes(Buffer.from([0, 0, 0, 0x7f, 0xff, 1, 2, 3])).schemaId).toBe(0x7fff);
    expect(viewBytes(Buffer.from([1, 0, 0, 0x7f, 0xff])).schemaId).toBeUndefined();
    expect(viewBytes(Buffer.from([0, 0, 0])).schemaId).toBeUndefined();
  });

  it("pretty-prints JSON text and leaves other text alone", () => {
    expect(viewBytes(Buffer.from('{"amount":"twelve"}')).json).toBe('{\n  "amount": "twelve"\n}');
    expect(viewBytes(Buffer.from('{"amount":')).json).toBeUndefined();
  });

  it("shows at most maxBytes and says it cut", () => {
    const view = viewBytes(Buffer.alloc(100, 0x41), 32);
    expect(view.hex).toHaveLength(2);
    expect(view.truncated).toBe(true);
    expect(view.size).toBe(100);
  });
});
