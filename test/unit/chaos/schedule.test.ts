import { describe, expect, it } from "vitest";
import { planEvents } from "../../chaos/ledger.ts";
import { type FaultSpec, scenarios, scheduleFaults } from "../../chaos/schedule.ts";

const faults: FaultSpec[] = [
  { kind: "kill", target: "transformer-1", count: 3 },
  { kind: "kill", target: "monitor", count: 2 },
  { kind: "clickhouse-kill", count: 1 },
];

describe("chaos fault schedule", () => {
  it("is the same for the same seed and differs for another seed", () => {
    const a = scheduleFaults(faults, 7, 60_000, 2000);
    expect(scheduleFaults(faults, 7, 60_000, 2000)).toEqual(a);
    expect(scheduleFaults(faults, 8, 60_000, 2000)).not.toEqual(a);
  });

  it("schedules every fault once, mid-stream, in time order, at least the gap apart", () => {
    const schedule = scheduleFaults(faults, 11, 100_000, 5000);
    expect(schedule).toHaveLength(6);
    expect(schedule.filter((f) => f.target === "transformer-1")).toHaveLength(3);
    expect(schedule.filter((f) => f.kind === "clickhouse-kill")).toHaveLength(1);
    for (const f of schedule) {
      expect(f.atMs).toBeGreaterThanOrEqual(10_000);
      expect(f.atMs).toBeLessThanOrEqual(80_000);
    }
    for (let i = 1; i < schedule.length; i += 1) {
      expect((schedule[i]?.atMs ?? 0) - (schedule[i - 1]?.atMs ?? 0)).toBeGreaterThanOrEqual(5000);
    }
  });

  it("has the release gate's fault counts", () => {
    const gate = scheduleFaults(scenarios.gate?.faults ?? [], 1, 1_000_000);
    const count = (kind: string) => gate.filter((f) => f.kind === kind).length;
    expect([
      count("kill"),
      count("broker-hard"),
      count("broker-clean"),
      count("clickhouse-kill"),
      count("pause"),
    ]).toEqual([60, 2, 1, 1, 2]);
  });
});

describe("chaos event plan", () => {
  const options = { events: 2000, seed: 5, keys: 50, badShare: 0.05, idPrefix: "plan" };

  it("numbers each key's events from 0 in send order, with a seeded share of bad ones", () => {
    const plan = planEvents(options);
    expect(plan).toHaveLength(2000);
    const next = new Map<string, number>();
    for (const { entry, event } of plan) {
      expect(entry.seq).toBe(next.get(entry.key) ?? 0);
      next.set(entry.key, entry.seq + 1);
      expect(event.card_id).toBe(entry.key);
      expect(event.event_id).toBe(entry.id);
      expect(event.amount < 0).toBe(entry.bad);
    }
    const bad = plan.filter((p) => p.entry.bad).length;
    expect(bad).toBeGreaterThan(50);
    expect(bad).toBeLessThan(150);
    expect(new Set(plan.map((p) => p.entry.id)).size).toBe(2000);
  });

  it("is the same for the same seed", () => {
    const ids = (seed: number) => planEvents({ ...options, seed }).map((p) => `${p.entry.id}${p.entry.bad}`);
    expect(ids(5)).toEqual(ids(5));
    expect(ids(6)).not.toEqual(ids(5));
  });
});
