import { describe, expect, it } from "vitest";
import {
  addEvent,
  emptyEntityState,
  isDuplicate,
  rollingAggregate,
  type StateRetention,
} from "../../../services/transformer/entity-state.ts";

const retention: StateRetention = { rollingMs: 3_600_000, dedupeMs: 600_000, keepMs: 3_600_000, sources: ["amount"] };
const minute = 60_000;

describe("per-entity state", () => {
  it("counts, sums and averages over (t − window, t]", () => {
    const state = emptyEntityState(retention);
    addEvent(state, retention, "a", 0, { amount: 10 });
    addEvent(state, retention, "b", 30 * minute, { amount: 20 });
    addEvent(state, retention, "c", 60 * minute, { amount: 30 });
    // The event at 0 is exactly one hour before 60 min: outside the half-open window.
    expect(rollingAggregate(state, "amount", "count", 60 * minute, 3_600_000)).toBe(2);
    expect(rollingAggregate(state, "amount", "sum", 60 * minute, 3_600_000)).toBe(50);
    expect(rollingAggregate(state, "amount", "mean", 60 * minute, 3_600_000)).toBe(25);
    expect(rollingAggregate(state, "amount", "count", 60 * minute, 10 * minute)).toBe(1);
  });

  it("places late events in event-time order and aggregates as of their own time", () => {
    const state = emptyEntityState(retention);
    addEvent(state, retention, "a", 10 * minute, { amount: 1 });
    addEvent(state, retention, "b", 50 * minute, { amount: 2 });
    addEvent(state, retention, "late", 20 * minute, { amount: 4 });
    expect(state.times).toEqual([10 * minute, 20 * minute, 50 * minute]);
    expect(rollingAggregate(state, "amount", "sum", 20 * minute, 3_600_000)).toBe(5);
    expect(rollingAggregate(state, "amount", "sum", 50 * minute, 3_600_000)).toBe(7);
  });

  it("evicts events older than the longest window and ids older than the dedupe window", () => {
    const state = emptyEntityState(retention);
    addEvent(state, retention, "old", 0, { amount: 1 });
    addEvent(state, retention, "new", 61 * minute, { amount: 2 });
    expect(state.times).toEqual([61 * minute]);
    expect(isDuplicate(state, retention, "old")).toBe(false);
    expect(isDuplicate(state, retention, "new")).toBe(true);
  });

  it("returns the ids that left every window, and only those", () => {
    const state = emptyEntityState(retention);
    expect(addEvent(state, retention, "a", 0, { amount: 1 })).toEqual([]);
    expect(addEvent(state, retention, "b", 30 * minute, { amount: 1 })).toEqual([]);
    // "a" is out of the 10-minute dedupe window but still in the 1-hour rolling window: kept.
    expect(isDuplicate(state, retention, "a")).toBe(false);
    expect(addEvent(state, retention, "c", 60 * minute, { amount: 1 })).toEqual(["a"]);
    expect(addEvent(state, retention, "d", 91 * minute, { amount: 1 })).toEqual(["b"]);
    expect([...state.seen.keys()]).toEqual(["c", "d"]);
  });

  it("remembers event ids within the dedupe window", () => {
    const state = emptyEntityState(retention);
    addEvent(state, retention, "x", 0, { amount: 1 });
    addEvent(state, retention, "y", 9 * minute, { amount: 1 });
    expect(isDuplicate(state, retention, "x")).toBe(true);
  });
});
