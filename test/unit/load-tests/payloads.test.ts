// The k6 payload module: reproducible for a seed, unique event ids per VU and iteration, events the
// ingest API's own validator accepts for both pipelines, and the distributions of the TypeScript
// generators.
import { describe, expect, it } from "vitest";
import {
  buildBatch,
  createEventSource,
  encodeBody,
  type PayloadEvent,
  type TimeFormat,
} from "../../../load-tests/k6/payloads.js";
import { irisStream } from "../../../services/producer/generator/iris.ts";
import { paymentEvents } from "../../../services/producer/generator/payments.ts";
import { createEventValidator } from "../../../services/producer/validation.ts";
import { parseAvroSchema } from "../../../services/shared/kafka/avro-codec.ts";
import { readSchema } from "../../../services/shared/schemas.ts";

const now = Date.UTC(2026, 10, 27, 12);
const clock = () => now;

function validatorFor(file: string) {
  const schema = readSchema(file) as Parameters<typeof createEventValidator>[1];
  return createEventValidator(parseAvroSchema(schema), schema);
}

const validators = {
  payments: validatorFor("payments-event.avsc"),
  iris: validatorFor("iris-event.avsc"),
};

function share<T>(values: readonly T[], value: T): number {
  return values.filter((v) => v === value).length / values.length;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

function mean(values: number[]): number {
  return values.reduce((a, b) => a + b, 0) / values.length;
}

describe("payloads.js", () => {
  it.each(["payments", "iris"] as const)(
    "gives the same %s events for the same seed, others for another",
    (pipeline) => {
      const options = { pipeline, seed: 42, vu: 3, now: clock, idPrefix: "run" };
      const a = createEventSource(options);
      const b = createEventSource(options);
      const first = [a.batch(20, 0), a.event(1), a.batch(5, 2)];
      expect([b.batch(20, 0), b.event(1), b.batch(5, 2)]).toEqual(first);
      expect(buildBatch({ ...options, size: 20 })).toEqual(first[0]);
      const other = createEventSource({ ...options, seed: 43 }).batch(20, 0);
      const otherVu = createEventSource({ ...options, vu: 4 }).batch(20, 0);
      const withoutIds = (events: PayloadEvent[]) => events.map(({ event_id: _, ...rest }) => rest);
      expect(withoutIds(other)).not.toEqual(withoutIds(first[0] as PayloadEvent[]));
      expect(withoutIds(otherVu)).not.toEqual(withoutIds(first[0] as PayloadEvent[]));
    },
  );

  it("names events uniquely per VU and iteration", () => {
    const ids: string[] = [];
    for (const vu of [1, 2, 3]) {
      const source = createEventSource({ seed: 1, vu, idPrefix: "run7", now: clock });
      for (let iteration = 0; iteration < 4; iteration += 1) {
        ids.push(...source.batch(5, iteration).map((e) => String(e.event_id)));
        ids.push(String(source.event(iteration + 100).event_id));
      }
    }
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids[0]).toBe("run7-1-0-0");
  });

  describe.each(["payments", "iris"] as const)("%s events", (pipeline) => {
    it.each(["epoch", "iso", "mixed"] as const)(
      "pass the ingest validator with %s event times",
      (timeFormat: TimeFormat) => {
        const events = createEventSource({ pipeline, seed: 7, vu: 1, timeFormat, now: clock }).batch(2000, 0);
        const failures = events
          .map((event) => ({ event, result: validators[pipeline](event) }))
          .filter(({ result }) => !result.ok);
        expect(failures).toEqual([]);
        for (const event of events) {
          const time = typeof event.event_time === "string" ? Date.parse(event.event_time) : Number(event.event_time);
          if (timeFormat !== "mixed") expect(typeof event.event_time).toBe(timeFormat === "iso" ? "string" : "number");
          expect(time).toBeGreaterThanOrEqual(now - 2000);
          expect(time).toBeLessThanOrEqual(now);
        }
        if (timeFormat === "mixed") {
          expect(
            share(
              events.map((e) => typeof e.event_time),
              "string",
            ),
          ).toBeGreaterThan(0.4);
          expect(
            share(
              events.map((e) => typeof e.event_time),
              "string",
            ),
          ).toBeLessThan(0.6);
        }
      },
    );

    it("encode as a JSON array and as NDJSON", () => {
      const events = buildBatch({ pipeline, size: 3, now: clock });
      expect(JSON.parse(encodeBody(events))).toEqual(events);
      expect(
        encodeBody(events, "ndjson")
          .split("\n")
          .map((line) => JSON.parse(line)),
      ).toEqual(events);
    });
  });

  it("draws payments like the TypeScript generator: log-normal amounts, channel, category and country weights", () => {
    const k6 = createEventSource({ seed: 11, vu: 1, now: clock }).batch(20_000, 0);
    const ts = paymentEvents(20_000, 11);
    const logAmounts = (events: ReadonlyArray<{ amount?: unknown }>) => events.map((e) => Math.log(Number(e.amount)));
    expect(Math.abs(median(logAmounts(k6)) - median(logAmounts(ts)))).toBeLessThan(0.05);
    expect(median(logAmounts(k6))).toBeCloseTo(3.2, 1);
    for (const [field, values] of [
      ["channel", ["pos", "ecom", "atm"]],
      ["merchant_category", ["grocery", "fuel", "restaurants", "travel", "electronics", "gambling"]],
      ["country", ["GB", "DE", "FR", "NL", "US", "BR"]],
    ] as const) {
      for (const value of values) {
        const ours = share(
          k6.map((e) => e[field]),
          value,
        );
        const theirs = share(
          ts.map((e) => e[field]),
          value,
        );
        expect(Math.abs(ours - theirs), `${field}=${value}`).toBeLessThan(0.02);
      }
    }
    for (const event of k6) {
      expect(event.card_present).toBe(event.channel !== "ecom");
      expect(event.device_id === null).toBe(event.channel !== "ecom");
    }
  });

  it("has fraud bursts: a few consecutive online payments on one card", () => {
    const events = createEventSource({ seed: 5, vu: 1, now: clock, fraudBurstShare: 0.05 }).batch(2000, 0);
    let longestRun = 1;
    let run = 1;
    for (let i = 1; i < events.length; i += 1) {
      run = events[i]?.card_id === events[i - 1]?.card_id ? run + 1 : 1;
      longestRun = Math.max(longestRun, run);
    }
    expect(longestRun).toBeGreaterThanOrEqual(3);
  });

  it("draws iris measurements like the TypeScript generator", () => {
    const k6 = createEventSource({ pipeline: "iris", seed: 11, vu: 1, now: clock }).batch(20_000, 0);
    const ts: Array<Record<string, number | string>> = [];
    for (const { event } of irisStream({ seed: 11, startTime: now, ratePerSecond: 10 })) {
      ts.push({ ...event });
      if (ts.length === 20_000) break;
    }
    for (const field of ["sepal_length", "sepal_width", "petal_length", "petal_width"]) {
      const ours = mean(k6.map((e) => Number(e[field])));
      const theirs = mean(ts.map((e) => Number(e[field])));
      expect(Math.abs(ours - theirs), field).toBeLessThan(0.05);
    }
  });

  it("refuses an unknown pipeline, time format or batch size", () => {
    expect(() => createEventSource({ pipeline: "nope" })).toThrow(/no payload generator for pipeline "nope"/);
    expect(() => createEventSource({ timeFormat: "rfc" as TimeFormat })).toThrow(/timeFormat/);
    expect(() => createEventSource().batch(0, 0)).toThrow(/batch size/);
  });
});
