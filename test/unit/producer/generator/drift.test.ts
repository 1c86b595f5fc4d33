import { describe, expect, it } from "vitest";
import { type DriftSpec, driftedLabel, matchesPattern } from "../../../../services/producer/generator/drift.ts";
import {
  type LabelledPayment,
  paymentConcepts,
  paymentStream,
} from "../../../../services/producer/generator/payments.ts";
import {
  conceptDrift,
  type GeneratorRun,
  labelSampler,
  parseDrift,
  sendStream,
} from "../../../../services/producer/generator/run.ts";
import type { IngestClient } from "../../../../services/producer/sdk.ts";

const start = Date.parse("2026-03-05T08:00:00Z");
const fuelFraud = paymentConcepts["fuel-fraud"]?.pattern ?? {};

function take(count: number, drift?: DriftSpec): LabelledPayment[] {
  const out: LabelledPayment[] = [];
  for (const item of paymentStream({ seed: 11, startTime: start, ratePerSecond: 2, drift })) {
    out.push(item);
    if (out.length === count) break;
  }
  return out;
}

describe("patterns", () => {
  it("match only when every equality and every bound holds", () => {
    const pattern = { equals: { merchant_category: "fuel", card_present: true }, below: { amount: 50 } };
    expect(matchesPattern({ merchant_category: "fuel", card_present: true, amount: 49.99 }, pattern)).toBe(true);
    expect(matchesPattern({ merchant_category: "fuel", card_present: true, amount: 50 }, pattern)).toBe(false);
    expect(matchesPattern({ merchant_category: "fuel", card_present: false, amount: 10 }, pattern)).toBe(false);
    expect(matchesPattern({ merchant_category: "grocery", card_present: true, amount: 10 }, pattern)).toBe(false);
    expect(matchesPattern({ merchant_category: "fuel", card_present: true, amount: "10" }, pattern)).toBe(false);
    expect(matchesPattern({ anything: 1 }, {})).toBe(true);
  });
});

describe("concept drift", () => {
  const fromTime = start + 3_600_000;
  const drift = conceptDrift("fuel-fraud", "payments", fromTime);

  it("relabels the matching events from its start on and changes nothing else", () => {
    const plain = take(14_400);
    const drifted = take(14_400, drift);
    let relabelled = 0;
    drifted.forEach((item, i) => {
      const before = plain[i] as LabelledPayment;
      // The inputs are the same events: a concept drift is invisible in the features.
      expect(item.event).toEqual(before.event);
      const matches = matchesPattern(item.event as unknown as Record<string, unknown>, fuelFraud);
      if (item.event.event_time < fromTime || !matches) expect(item.label).toBe(before.label);
      else {
        expect(item.label).toBe(1);
        if (before.label === 0) relabelled += 1;
      }
    });
    // card-present (70%) × fuel (15%) × under 50 (about 78%) of the 7,200 events after the start.
    expect(relabelled / 7200).toBeGreaterThan(0.06);
    expect(relabelled / 7200).toBeLessThan(0.12);
  });

  it("with a share below 1 relabels about that share of the matching events", () => {
    const half: DriftSpec = { ...drift, share: 0.5 };
    const draws = [0.1, 0.9];
    let i = 0;
    const random = () => draws[i++ % 2] as number;
    const record = { merchant_category: "fuel", card_present: true, amount: 12 };
    expect([0, 1, 2, 3].map(() => driftedLabel(record, 0, fromTime, half, random))).toEqual([1, 0, 1, 0]);
    expect(driftedLabel(record, 0, fromTime - 1, half, random)).toBe(0);
    const shift: DriftSpec = { kind: "mean-shift", field: "amount", fromTime, shift: 10 };
    expect(driftedLabel(record, 0, fromTime, shift, random)).toBe(0);
  });

  it("is parsed from label:concept:<name>@seconds, at the event time sent then", () => {
    const run: GeneratorRun = { pipeline: "payments", ratePerSecond: 200, eventRatePerSecond: 2, seconds: 90, seed: 1 };
    const wallStart = Date.parse("2026-03-05T12:00:00Z");
    const parsed = parseDrift("label:concept:fuel-fraud@45", run, wallStart);
    const shift = parseDrift("amount:mean-shift:150@45", run, wallStart);
    expect(parsed).toMatchObject({ kind: "concept", field: "label", label: 1, share: 1, pattern: fuelFraud });
    expect(parsed.fromTime).toBe(shift.fromTime);
    expect(() => parseDrift("label:concept:nope@45", run, wallStart)).toThrow(/no concept drift "nope" for payments/);
    expect(() => parseDrift("amount:concept:fuel-fraud@45", run, wallStart)).toThrow(/changes the label/);
    expect(() => parseDrift("label:concept:fuel-fraud@45", { ...run, pipeline: "iris" }, wallStart)).toThrow(
      /known: none/,
    );
  });
});

describe("sendStream", () => {
  it("sends a stream in phases, carrying on where the last phase stopped, with the sampled labels", async () => {
    const sent: Array<{ pipeline: string; ids: string[] }> = [];
    const client = {
      async publish(pipeline: string, events: readonly object[]) {
        sent.push({ pipeline, ids: events.map((e) => (e as { event_id: string }).event_id) });
        return { accepted: events.length, rejected: 0, results: [] };
      },
    } as unknown as IngestClient;
    const stream = paymentStream({ seed: 3, startTime: start, ratePerSecond: 2, idPrefix: "s" });
    const sampler = labelSampler(9);
    const labels: string[] = [];
    const publish = async (batch: Array<{ event_id: string }>) => {
      labels.push(...batch.map((l) => l.event_id));
    };
    const options = { ratePerSecond: 100_000, labelSampler: sampler, batchSize: 7 };
    const first = await sendStream(client, "lc-x", stream, { ...options, count: 20, labelRate: 0 }, publish);
    const second = await sendStream(client, "lc-x", stream, { ...options, count: 30, labelRate: 1 }, publish);
    expect([first.accepted, first.labels, second.accepted, second.labels]).toEqual([20, 0, 30, 30]);
    const ids = sent.flatMap((s) => s.ids);
    expect(ids).toEqual(Array.from({ length: 50 }, (_, i) => `s-${i}`));
    expect(new Set(sent.map((s) => s.pipeline))).toEqual(new Set(["lc-x"]));
    expect(labels).toEqual(ids.slice(20));
  });
});
