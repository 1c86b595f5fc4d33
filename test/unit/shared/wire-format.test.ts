import { describe, expect, it } from "vitest";
import { decodeWireFormat, encodeWireFormat } from "../../../services/shared/kafka/wire-format.ts";

describe("Confluent wire format", () => {
  it("puts magic byte 0 and the big-endian schema id before the body", () => {
    const framed = encodeWireFormat(0x01020304, Buffer.from([0xaa, 0xbb]));
    expect([...framed]).toEqual([0, 1, 2, 3, 4, 0xaa, 0xbb]);
  });

  it("round-trips ids up to 2^32 - 1", () => {
    for (const id of [0, 1, 255, 65_536, 0xffffffff]) {
      const { schemaId, body } = decodeWireFormat(encodeWireFormat(id, Buffer.from("x")));
      expect(schemaId).toBe(id);
      expect(body.toString()).toBe("x");
    }
  });

  it.each([
    ["an empty value", Buffer.alloc(0), /empty/],
    ["a null value", null, /empty/],
    ["a value shorter than the header", Buffer.from([0, 0, 1]), /shorter than the 5-byte header/],
    ["a wrong magic byte", Buffer.from([1, 0, 0, 0, 1, 9]), /magic byte 1/],
  ])("rejects %s with a coded error", (_, value, message) => {
    expect(() => decodeWireFormat(value)).toThrow(message);
    try {
      decodeWireFormat(value);
    } catch (error) {
      expect((error as { code: string }).code).toBe("WIRE_FORMAT_INVALID");
    }
  });

  it("rejects schema ids that do not fit 4 bytes", () => {
    expect(() => encodeWireFormat(2 ** 32, Buffer.alloc(0))).toThrow(/does not fit/);
    expect(() => encodeWireFormat(-1, Buffer.alloc(0))).toThrow(/does not fit/);
  });
});
