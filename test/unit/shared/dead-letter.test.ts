import { describe, expect, it } from "vitest";
import { errorCode, StreamscoreError } from "../../../services/shared/errors.ts";
import type { KafkaMessage } from "../../../services/shared/kafka/client.ts";
import { deadLetter, decodeOrDeadLetter, headerText } from "../../../services/shared/kafka/dead-letter.ts";

function message(value: string): KafkaMessage {
  return {
    key: Buffer.from("k"),
    value: Buffer.from(value),
    timestamp: "1700000000000",
    offset: "7",
    headers: {},
  } as KafkaMessage;
}

describe("errorCode", () => {
  it("keeps a StreamscoreError's code and names anything else UNEXPECTED", () => {
    expect(errorCode(new StreamscoreError("SCHEMA_NOT_FOUND", "id 9"))).toBe("SCHEMA_NOT_FOUND");
    expect(errorCode(new TypeError("boom"))).toBe("UNEXPECTED");
    expect(errorCode("a string")).toBe("UNEXPECTED");
  });
});

describe("decodeOrDeadLetter", () => {
  it("returns the decoded value and rejects nothing for a good record", () => {
    const rejected: unknown[] = [];
    const decoded = decodeOrDeadLetter(
      message("12"),
      (m) => Number(m.value?.toString()),
      (_m, e) => rejected.push(e),
    );
    expect(decoded).toEqual({ ok: true, value: 12 });
    expect(rejected).toEqual([]);
  });

  it("hands a record that cannot be decoded to reject, with its error, and does not throw", () => {
    const letters = [] as ReturnType<typeof deadLetter>[];
    const poison = message("not avro");
    const decoded = decodeOrDeadLetter(
      poison,
      () => {
        throw new StreamscoreError("WIRE_FORMAT_INVALID", "no magic byte");
      },
      (m, error) => letters.push(deadLetter(m, { topic: "p.raw", partition: 2, offset: m.offset }, "decode", error)),
    );
    expect(decoded).toEqual({ ok: false });
    expect(letters).toHaveLength(1);
    const headers = letters[0]?.headers;
    expect(headerText(headers, "x-error-code")).toBe("WIRE_FORMAT_INVALID");
    expect(headerText(headers, "x-error-message")).toBe("no magic byte");
    expect(headerText(headers, "x-original-partition")).toBe("2");
    expect(headerText(headers, "x-original-offset")).toBe("7");
    expect(letters[0]?.value?.toString()).toBe("not avro");
  });
});
