import { describe, expect, it } from "vitest";
import type { IHeaders } from "../../../services/shared/kafka/client.ts";
import {
  type DeadLetterEntry,
  parseDeadLetter,
  parsePosition,
  parseReplayRequest,
  parseSince,
  planReplay,
  replayHeaders,
} from "../../../services/shared/kafka/replay-plan.ts";

const now = Date.parse("2026-12-07T12:00:00Z");
const topics = { deadLetterTopic: "pay.dlq", replayableTopic: "pay.raw" };

function letter(
  offset: number,
  original: { topic: string; partition: number; offset: number } | undefined,
  options: { code?: string; timestamp?: number; value?: Buffer | null; headers?: IHeaders } = {},
): DeadLetterEntry {
  const headers: IHeaders = { ...(options.headers ?? {}) };
  if (options.code !== undefined) headers["x-error-code"] = options.code;
  if (original) {
    headers["x-original-topic"] = original.topic;
    headers["x-original-partition"] = Buffer.from(String(original.partition));
    headers["x-original-offset"] = String(original.offset);
  }
  return {
    partition: 0,
    offset: String(offset),
    timestamp: options.timestamp ?? now - 60_000 + offset,
    key: Buffer.from(`k${offset}`),
    value: options.value === undefined ? Buffer.from([0, 0, 0, 0, 7, offset]) : options.value,
    headers,
  };
}

describe("dead-letter headers", () => {
  it("reads code, stage and the original position, as strings or buffers", () => {
    const info = parseDeadLetter({
      "x-error-code": Buffer.from("SCHEMA_NOT_FOUND"),
      "x-error-message": "schema id 9 is not in the registry",
      "x-error-stage": "decode",
      "x-original-topic": "pay.raw",
      "x-original-partition": "2",
      "x-original-offset": Buffer.from("41"),
    });
    expect(info).toEqual({
      code: "SCHEMA_NOT_FOUND",
      message: "schema id 9 is not in the registry",
      stage: "decode",
      original: { topic: "pay.raw", partition: 2, offset: "41" },
      origin: { topic: "pay.raw", partition: 2, offset: "41" },
      valueRemoved: false,
    });
  });

  it("has no original position when a header is missing or not a number", () => {
    expect(parseDeadLetter({ "x-original-topic": "pay.raw", "x-original-partition": "1" }).original).toBeUndefined();
    expect(
      parseDeadLetter({ "x-original-topic": "pay.raw", "x-original-partition": "x", "x-original-offset": "3" })
        .original,
    ).toBeUndefined();
    expect(parseDeadLetter(undefined).code).toBeUndefined();
  });

  it("takes the event's first position from x-replay-of, and notices a removed value", () => {
    const info = parseDeadLetter({
      "x-original-topic": "pay.raw",
      "x-original-partition": "0",
      "x-original-offset": "90",
      "x-replay-of": "pay.raw/0/5",
      "x-personal-data": "value removed",
    });
    expect(info.origin).toEqual({ topic: "pay.raw", partition: 0, offset: "5" });
    expect(info.original?.offset).toBe("90");
    expect(info.valueRemoved).toBe(true);
  });

  it("parses positions whose topic holds slashes and refuses others", () => {
    expect(parsePosition("a/b.raw/3/10")).toEqual({ topic: "a/b.raw", partition: 3, offset: "10" });
    expect(parsePosition("pay.raw/3")).toBeUndefined();
    expect(parsePosition("pay.raw/x/1")).toBeUndefined();
  });

  it("sends a replayed record with the original's headers, none of the dead letter's, and its provenance", () => {
    const headers = replayHeaders(
      {
        traceparent: "00-abc",
        "x-error-code": "SCHEMA_NOT_FOUND",
        "x-error-message": "m",
        "x-error-stage": "decode",
        "x-original-topic": "pay.raw",
        "x-original-offset": "5",
        "x-personal-data": "value removed",
        "x-replay-of": "old/0/0",
      },
      { topic: "pay.raw", partition: 1, offset: "5" },
      { topic: "pay.dlq", partition: 0, offset: "12" },
    );
    expect(headers).toEqual({
      traceparent: "00-abc",
      "x-replay-of": "pay.raw/1/5",
      "x-replayed-from": "pay.dlq/0/12",
    });
  });
});

describe("--since", () => {
  it("takes spans back from now and ISO 8601 times", () => {
    expect(parseSince("30m", now)).toBe(now - 30 * 60_000);
    expect(parseSince("2h", now)).toBe(now - 2 * 3_600_000);
    expect(parseSince("1d", now)).toBe(now - 86_400_000);
    expect(parseSince("45s", now)).toBe(now - 45_000);
    expect(parseSince("2026-12-07T04:00:00Z", now)).toBe(Date.parse("2026-12-07T04:00:00Z"));
    expect(parseSince("2026-12-07", now)).toBe(Date.parse("2026-12-07"));
  });

  it("refuses anything else", () => {
    for (const bad of ["yesterday", "2h ago", "12", "-5m", "2026-13-45", ""]) {
      expect(parseSince(bad, now), bad).toBeUndefined();
    }
  });
});

describe("replay request", () => {
  it("fills defaults and takes one code or a list", () => {
    expect(parseReplayRequest({}, now)).toEqual({
      ok: true,
      request: { codes: undefined, since: undefined, dryRun: false, waitSeconds: 30 },
    });
    expect(parseReplayRequest({ code: "SCHEMA_NOT_FOUND", since: "1h", dryRun: true, waitSeconds: 0 }, now)).toEqual({
      ok: true,
      request: { codes: ["SCHEMA_NOT_FOUND"], since: now - 3_600_000, dryRun: true, waitSeconds: 0 },
    });
    const list = parseReplayRequest({ code: ["SCHEMA_NOT_FOUND", "AVRO_DECODE_FAILED"] }, now);
    expect(list.ok && list.request.codes).toEqual(["SCHEMA_NOT_FOUND", "AVRO_DECODE_FAILED"]);
  });

  it.each([
    [{ code: "NOT_A_CODE" }, "code"],
    [{ code: ["SCHEMA_NOT_FOUND", "nope"] }, "code"],
    [{ code: [] }, "code"],
    [{ since: "last tuesday" }, "since"],
    [{ since: 5 }, "since"],
    [{ dryRun: "yes" }, "dryRun"],
    [{ waitSeconds: -1 }, "waitSeconds"],
    [{ waitSeconds: 1.5 }, "waitSeconds"],
    [{ waitSeconds: 601 }, "waitSeconds"],
    [{ pipeline: "payments" }, "pipeline"],
  ])("refuses %j naming %s", (body, field) => {
    const parsed = parseReplayRequest(body, now);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) {
      expect(parsed.field).toBe(field);
      expect(parsed.message.length).toBeGreaterThan(0);
    }
  });

  it("lists the known codes when a code is wrong, and the known fields when one is unknown", () => {
    const code = parseReplayRequest({ code: "x" }, now);
    expect(!code.ok && code.message).toContain("SCHEMA_NOT_FOUND");
    const field = parseReplayRequest({ codes: ["SCHEMA_NOT_FOUND"] }, now);
    expect(!field.ok && field.message).toContain("code, since, dryRun, waitSeconds");
  });
});

describe("replay plan", () => {
  const raw = (offset: number, partition = 0) => ({ topic: "pay.raw", partition, offset });

  it("replays dead letters of the raw topic and counts the others per topic", () => {
    const plan = planReplay(
      [
        letter(0, raw(10), { code: "SCHEMA_NOT_FOUND" }),
        letter(1, { topic: "pay.features", partition: 0, offset: 3 }, { code: "MODEL_INPUT_INVALID" }),
        letter(2, { topic: "pay.scored", partition: 1, offset: 4 }, { code: "SCORED_RECORD_INVALID" }),
        letter(3, { topic: "pay.features", partition: 2, offset: 8 }, { code: "MODEL_INPUT_INVALID" }),
        letter(4, undefined, { code: "UNEXPECTED" }),
      ],
      topics,
    );
    expect(plan.candidates.map((c) => c.entry.offset)).toEqual(["0"]);
    expect(plan.skipped).toEqual({
      code: 0,
      since: 0,
      notReplayable: { "pay.features": 2, "pay.scored": 1 },
      unknownOrigin: 1,
      superseded: 0,
    });
    expect(plan.candidates[0]).toMatchObject({
      at: { topic: "pay.dlq", partition: 0, offset: "0" },
      origin: { topic: "pay.raw", partition: 0, offset: "10" },
      readFrom: undefined,
    });
  });

  it("filters by code and by the time the record was dead-lettered", () => {
    const entries = [
      letter(0, raw(1), { code: "SCHEMA_NOT_FOUND", timestamp: now - 3 * 3_600_000 }),
      letter(1, raw(2), { code: "SCHEMA_NOT_FOUND", timestamp: now - 60_000 }),
      letter(2, raw(3), { code: "CLEANING_REJECTED", timestamp: now - 60_000 }),
    ];
    const plan = planReplay(entries, { ...topics, codes: ["SCHEMA_NOT_FOUND"], since: now - 3_600_000 });
    expect(plan.candidates.map((c) => c.entry.offset)).toEqual(["1"]);
    expect(plan.skipped).toMatchObject({ code: 1, since: 1 });
    expect(planReplay(entries, topics).candidates).toHaveLength(3);
  });

  it("keeps one dead letter per event, the newest, and judges the filters on it", () => {
    // The event at raw/0/7 failed, was replayed to raw/0/50 and failed again, for another reason.
    const first = letter(0, raw(7), { code: "SCHEMA_NOT_FOUND", timestamp: now - 120_000 });
    const again = letter(1, raw(50), {
      code: "CLEANING_REJECTED",
      timestamp: now - 60_000,
      headers: { "x-replay-of": "pay.raw/0/7" },
    });
    const all = planReplay([again, first], topics);
    expect(all.candidates.map((c) => c.entry.offset)).toEqual(["1"]);
    expect(all.candidates[0]?.origin).toEqual({ topic: "pay.raw", partition: 0, offset: "7" });
    expect(all.skipped.superseded).toBe(1);
    // Its latest failure is not the wanted code: nothing goes back.
    const wanted = planReplay([first, again], { ...topics, codes: ["SCHEMA_NOT_FOUND"] });
    expect(wanted.candidates).toEqual([]);
    expect(wanted.skipped).toMatchObject({ superseded: 1, code: 1 });
  });

  it("reads the original from its position when the dead letter holds no value", () => {
    const plan = planReplay(
      [
        letter(0, raw(10, 2), { value: null, headers: { "x-personal-data": "value removed" } }),
        letter(1, raw(11, 2), { value: null }),
      ],
      topics,
    );
    expect(plan.candidates.map((c) => c.readFrom)).toEqual([raw2("10"), raw2("11")]);

    function raw2(offset: string) {
      return { topic: "pay.raw", partition: 2, offset };
    }
  });

  it("orders what goes back by the time it was dead-lettered", () => {
    const plan = planReplay(
      [letter(5, raw(1), { timestamp: now - 10 }), letter(6, raw(2), { timestamp: now - 30 })],
      topics,
    );
    expect(plan.candidates.map((c) => c.entry.offset)).toEqual(["6", "5"]);
  });
});
