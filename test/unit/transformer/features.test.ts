import { describe, expect, it } from "vitest";
import { definePipeline, featureNames } from "../../../services/shared/pipeline/definition.ts";
import { addEvent, emptyEntityState, stateRetention } from "../../../services/transformer/entity-state.ts";
import { computeFeatures, dayOfWeek, hourOfDay } from "../../../services/transformer/features.ts";

const definition = definePipeline({
  name: "t",
  description: "every feature kind",
  schema: "x.avsc",
  eventId: "id",
  entityKey: "key",
  eventTime: "ts",
  cleaning: { dedupe: { key: "id", windowSeconds: 60 } },
  features: [
    { name: "x", kind: "numeric", source: "x" },
    { name: "flag", kind: "numeric", source: "flag" },
    { name: "x_scaled", kind: "standard-scale", source: "x", mean: 10, std: 4 },
    { name: "x_log", kind: "log1p", source: "x" },
    { name: "color", kind: "category-index", source: "color", categories: ["red", "green"] },
    { name: "size", kind: "one-hot", source: "size", categories: ["s", "m", "l"] },
    { name: "hour", kind: "hour-of-day", source: "ts" },
    { name: "weekday", kind: "day-of-week", source: "ts" },
    { name: "x_sum_10m", kind: "rolling", source: "x", aggregate: "sum", windowSeconds: 600 },
    { name: "x_count_10m", kind: "rolling", source: "x", aggregate: "count", windowSeconds: 600 },
  ],
  model: { directory: "m", name: "m" },
});

describe("features", () => {
  it("expands one-hot features into one named column per category", () => {
    expect(featureNames(definition)).toEqual([
      "x",
      "flag",
      "x_scaled",
      "x_log",
      "color",
      "size_s",
      "size_m",
      "size_l",
      "hour",
      "weekday",
      "x_sum_10m",
      "x_count_10m",
    ]);
  });

  it("computes every kind from the event and its entity's state", () => {
    const retention = stateRetention(definition);
    const state = emptyEntityState(retention);
    // 2026-06-03 was a Wednesday.
    const ts = Date.UTC(2026, 5, 3, 14, 30);
    addEvent(state, retention, "earlier", ts - 5 * 60_000, { x: 4 });
    addEvent(state, retention, "too-early", ts - 11 * 60_000, { x: 100 });
    const record = { id: "now", key: "k", ts, x: 18, flag: true, color: "green", size: "m" };
    addEvent(state, retention, "now", ts, record);
    expect(computeFeatures(definition, record, state)).toEqual([18, 1, 2, Math.log(19), 1, 0, 1, 0, 14, 2, 22, 2]);
  });

  it("gives unknown categories their own index and an all-zero one-hot", () => {
    const retention = stateRetention(definition);
    const state = emptyEntityState(retention);
    const record = { id: "a", key: "k", ts: 0, x: 0, flag: false, color: "blue", size: "xl" };
    addEvent(state, retention, "a", 0, record);
    const values = computeFeatures(definition, record, state);
    expect(values.slice(4, 8)).toEqual([2, 0, 0, 0]);
  });

  it("uses UTC hours and ISO weekdays (Monday = 0)", () => {
    expect(dayOfWeek(Date.UTC(2026, 10, 23))).toBe(0); // a Monday
    expect(dayOfWeek(Date.UTC(2026, 10, 29, 23, 59))).toBe(6); // a Sunday
    expect(hourOfDay(Date.UTC(2026, 10, 23, 23, 59))).toBe(23);
    expect(hourOfDay(0)).toBe(0);
  });
});
