// A window's parts: snapshots restore exactly, and merged parts give the same statistics wherever
// they were kept (in memory here, or stored as JSON by another instance).
import { describe, expect, it } from "vitest";
import {
  addToWindow,
  type DriftInput,
  evaluateWindow,
  type WindowState,
} from "../../../services/monitor/windowing/evaluation.ts";
import {
  mergeParts,
  openPart,
  restorePart,
  seedOf,
  snapshotPart,
} from "../../../services/monitor/windowing/window-parts.ts";
import { seededRandom } from "../../../services/shared/random.ts";
import { context, names, reference } from "../../helpers/payments-reference.ts";

const start = 1_767_225_600_000;

/** Heavy-tailed feature values (lognormal), some missing, so sketches compact and every counter moves. */
function rows(count: number, seed: number): DriftInput[] {
  const random = seededRandom(seed);
  return Array.from({ length: count }, () => {
    const gaussian = Math.sqrt(-2 * Math.log(random() || 1e-12)) * Math.cos(2 * Math.PI * random());
    return {
      model_version: 1,
      event_time_ms: start,
      feature_values: names.map((_, i) => (random() < 0.01 ? Number.NaN : Math.exp(gaussian + i))),
      label: random() < 0.1 ? "1" : "0",
      score: random(),
    };
  });
}

function filled(partition: string, input: readonly DriftInput[]): WindowState {
  const part = openPart(reference, start, partition);
  for (const row of input) addToWindow(part, row);
  return part;
}

function evaluated(state: WindowState) {
  return evaluateWindow({ key: "1", start, end: start + 300_000, state }, context).rows;
}

describe("window parts", () => {
  it("restores a part from its JSON snapshot to the very same state, which goes on identically", () => {
    const [first, rest] = [rows(9000, 1), rows(3000, 2)];
    const part = filled("0", first);
    const restored = restorePart(reference, JSON.parse(JSON.stringify(snapshotPart(part))));
    expect(snapshotPart(restored)).toEqual(snapshotPart(part));
    for (const row of rest) {
      addToWindow(part, row);
      addToWindow(restored, row);
    }
    expect(snapshotPart(restored)).toEqual(snapshotPart(part));
  });

  it("merges parts into the same statistics whether they stayed in memory or went through storage", () => {
    const parts = [filled("0", rows(9000, 3)), filled("1", rows(7000, 4)), filled("2", rows(200, 5))];
    const inMemory = evaluated(mergeParts(reference, start, parts));
    const stored = parts.map((p) => restorePart(reference, JSON.parse(JSON.stringify(snapshotPart(p)))));
    expect(evaluated(mergeParts(reference, start, stored))).toEqual(inMemory);
    expect(inMemory.every((r) => r.sample_size === 16_200)).toBe(true);
    // Seeds differ per partition and feature: a part is not a copy of its neighbour's coin flips.
    expect(seedOf("1/0/0/amount")).not.toBe(seedOf("1/0/1/amount"));
  });

  it("gives the exact statistics of the whole window while the parts together are small enough to hold", () => {
    const all = rows(3000, 6);
    const whole = filled("0", all);
    const split = mergeParts(reference, start, [filled("0", all.slice(0, 1000)), filled("1", all.slice(1000))]);
    const a = evaluated(whole);
    const b = evaluated(split);
    expect(b.map((r) => [r.feature, r.statistic])).toEqual(a.map((r) => [r.feature, r.statistic]));
    for (const [i, row] of b.entries()) {
      const expected = a[i]?.value as number;
      // Moments merge by Chan's update: equal to the last few bits.
      expect(Math.abs(row.value - expected), `${row.feature} ${row.statistic}`).toBeLessThanOrEqual(
        1e-9 * Math.max(1, Math.abs(expected)),
      );
      expect(row.drifted).toBe(a[i]?.drifted);
    }
  });
});
