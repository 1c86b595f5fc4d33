import { describe, expect, it } from "vitest";
import { featureNames } from "../../../services/shared/pipeline/definition.ts";
import { payments } from "../../../services/shared/pipelines/payments.ts";
import {
  classCounts,
  comparableSegments,
  type ExportedRow,
  eventBucket,
  holdoutMetrics,
  type LabelledRow,
  nextVersion,
  parseWindow,
  prepareRows,
  segmentsOf,
  splitByEventId,
  toCsv,
} from "../../../tools/models/retrain-plan.ts";

const hour = 3_600_000;
const now = Date.UTC(2026, 11, 7, 12, 0, 0);

describe("parseWindow", () => {
  it("defaults to the last 24 hours before now, or the hours given", () => {
    expect(parseWindow({}, now)).toEqual({ since: now - 24 * hour, until: now });
    expect(parseWindow({ hours: "6" }, now)).toEqual({ since: now - 6 * hour, until: now });
    expect(parseWindow({ hours: "0.5" }, now, 24)).toEqual({ since: now - hour / 2, until: now });
    expect(parseWindow({}, now, 48)).toEqual({ since: now - 48 * hour, until: now });
  });

  it("takes --since and --until as given, with their zones", () => {
    expect(parseWindow({ since: "2026-12-07T01:00Z", until: "2026-12-07T03:30:00+01:00" }, now)).toEqual({
      since: Date.UTC(2026, 11, 7, 1),
      until: Date.UTC(2026, 11, 7, 2, 30),
    });
    // A date alone is UTC midnight.
    expect(parseWindow({ since: "2026-12-06", until: "2026-12-07" }, now)).toEqual({
      since: Date.UTC(2026, 11, 6),
      until: Date.UTC(2026, 11, 7),
    });
  });

  it("fills a missing end with the hours from the other end, never past now", () => {
    expect(parseWindow({ until: "2026-12-07T06:00Z", hours: "2" }, now)).toEqual({
      since: Date.UTC(2026, 11, 7, 4),
      until: Date.UTC(2026, 11, 7, 6),
    });
    expect(parseWindow({ since: "2026-12-07T10:00Z", hours: "5" }, now)).toEqual({
      since: Date.UTC(2026, 11, 7, 10),
      until: now,
    });
    expect(parseWindow({ since: "2026-12-07T01:00Z", hours: "2" }, now)).toEqual({
      since: Date.UTC(2026, 11, 7, 1),
      until: Date.UTC(2026, 11, 7, 3),
    });
  });

  it("refuses what is not a window, naming the flag", () => {
    expect(() => parseWindow({ since: "yesterday" }, now)).toThrow(/--since "yesterday" is not a date/);
    // A time without its zone would mean different windows on different machines.
    expect(() => parseWindow({ until: "2026-12-07T10:00" }, now)).toThrow(/--until "2026-12-07T10:00"/);
    expect(() => parseWindow({ since: "2026-13-45" }, now)).toThrow(/--since/);
    expect(() => parseWindow({ hours: "0" }, now)).toThrow(/--hours must be a positive number/);
    expect(() => parseWindow({ hours: "-3" }, now)).toThrow(/--hours/);
    expect(() => parseWindow({ hours: "six" }, now)).toThrow(/--hours/);
    expect(() => parseWindow({ hours: " " }, now)).toThrow(/--hours/);
    expect(() => parseWindow({ since: "2026-12-07T05:00Z", until: "2026-12-07T04:00Z" }, now)).toThrow(
      /the window is empty/,
    );
    expect(() => parseWindow({ since: "2026-12-08T00:00Z" }, now)).toThrow(/in the future/);
    expect(() => parseWindow({ since: "2026-12-07", until: "2026-12-07T06:00Z", hours: "1" }, now)).toThrow(
      /not all three/,
    );
  });
});

describe("splitByEventId", () => {
  const rows = Array.from({ length: 20_000 }, (_, i) => ({ eventId: `evt-${i}` }));

  it("holds out about the share asked for, by the event id alone", () => {
    const { train, holdout } = splitByEventId(rows, 0.2);
    expect(train.length + holdout.length).toBe(rows.length);
    expect(holdout.length / rows.length).toBeGreaterThan(0.19);
    expect(holdout.length / rows.length).toBeLessThan(0.21);
    expect(holdout.every((r) => eventBucket(r.eventId) < 0.2)).toBe(true);
    expect(train.every((r) => eventBucket(r.eventId) >= 0.2)).toBe(true);
  });

  it("puts an event on the same side whatever the order or the other rows", () => {
    const once = new Set(splitByEventId(rows, 0.2).holdout.map((r) => r.eventId));
    const shuffled = [...rows].reverse().filter((_, i) => i % 3 !== 0);
    const again = new Set(splitByEventId(shuffled, 0.2).holdout.map((r) => r.eventId));
    for (const row of shuffled) expect(again.has(row.eventId)).toBe(once.has(row.eventId));
    // A larger share holds out a superset: a widened holdout never moves a held-out event into training.
    const wider = new Set(splitByEventId(rows, 0.3).holdout.map((r) => r.eventId));
    expect([...once].every((id) => wider.has(id))).toBe(true);
  });

  it("buckets by the hash, not by the id's look", () => {
    expect(eventBucket("evt-1")).not.toBe(eventBucket("evt-2"));
    expect(eventBucket("evt-1")).toBe(eventBucket("evt-1"));
    expect(eventBucket("a")).toBeGreaterThanOrEqual(0);
    expect(eventBucket("a")).toBeLessThan(1);
  });

  it("refuses a share that leaves nothing to train or to measure", () => {
    for (const share of [0, 1, -0.1, 1.5, Number.NaN]) {
      expect(() => splitByEventId(rows, share)).toThrow(/holdout share must be above 0 and below 1/);
    }
  });
});

describe("prepareRows", () => {
  const order = ["a", "b", "c"];
  const row = (id: string, names: string[], values: number[], actual: string, time = 1): ExportedRow => ({
    event_id: id,
    event_time_ms: String(time),
    feature_names: names,
    feature_values: values,
    actual,
  });

  it("keeps the definition's order, maps other orders by name, and counts what it cannot use", () => {
    const { rows, skipped } = prepareRows(
      [
        row("e1", order, [1, 2, 3], "1", 100),
        row("e2", ["c", "a", "b", "extra"], [30, 10, 20, 99], "0"),
        row("e3", ["a", "b"], [1, 2], "0"),
        row("e4", order, [1, 2, 3], "fraud"),
      ],
      order,
      ["0", "1"],
    );
    expect(rows).toEqual([
      { eventId: "e1", eventTime: 100, features: [1, 2, 3], label: 1 },
      { eventId: "e2", eventTime: 1, features: [10, 20, 30], label: 0 },
    ]);
    expect(skipped).toEqual({ missingFeature: 1, unknownLabel: 1 });
  });
});

describe("toCsv and classCounts", () => {
  const rows: LabelledRow[] = [
    { eventId: "x", eventTime: 0, features: [0.1, 1e-7, 123456.789], label: 1 },
    { eventId: "y", eventTime: 0, features: [2, 0, -1], label: 0 },
  ];

  it("writes the header, then each row with its class index, numbers exact", () => {
    expect(toCsv(["a", "b", "c"], rows)).toBe("a,b,c,label\n0.1,1e-7,123456.789,1\n2,0,-1,0\n");
    expect(() => toCsv(["a,b"], rows)).toThrow(/cannot be a CSV column/);
  });

  it("counts rows per class, zeros included", () => {
    expect(classCounts(rows, 3)).toEqual([1, 1, 0]);
  });
});

describe("nextVersion", () => {
  it("is above every folder and every registered version", () => {
    expect(nextVersion([], [])).toBe(1);
    expect(nextVersion([3, 1], [])).toBe(4);
    // A version the registry knows but whose folder is not here is never reused.
    expect(nextVersion([1], [1, 5])).toBe(6);
  });
});

describe("segmentsOf and holdoutMetrics", () => {
  const order = featureNames(payments);
  const segments = segmentsOf(payments, order);
  const ecom = order.indexOf("channel_ecom");
  const pos = order.indexOf("channel_pos");

  it("makes one segment per category of each one-hot feature", () => {
    expect(segments.map((s) => s.name)).toEqual(["channel=pos", "channel=ecom", "channel=atm"]);
    expect(segments.find((s) => s.name === "channel=ecom")?.column).toBe(ecom);
  });

  it("computes the monitor's metrics overall and per segment, leaving out the undefined ones", () => {
    const vector = (column: number) => order.map((_, i) => (i === column ? 1 : 0));
    const rows: LabelledRow[] = [
      { eventId: "1", eventTime: 0, features: vector(ecom), label: 1 },
      { eventId: "2", eventTime: 0, features: vector(ecom), label: 0 },
      { eventId: "3", eventTime: 0, features: vector(pos), label: 0 },
      { eventId: "4", eventTime: 0, features: vector(pos), label: 0 },
    ];
    const scores = { labels: ["1", "1", "0", "0"], probabilities: [0.1, 0.9, 0.3, 0.7, 0.8, 0.2, 0.9, 0.1] };
    const metrics = holdoutMetrics(rows, scores, { classLabels: ["0", "1"], positiveClass: "1" }, segments);
    expect(metrics.overall.accuracy).toBe(0.75);
    // Positive 0.9 is above every negative (0.7, 0.2, 0.1): AUC 1.
    expect(metrics.overall.roc_auc).toBe(1);
    expect(metrics.segments?.["channel=ecom"]?.roc_auc).toBe(1);
    // One class only: AUC is undefined there and is left out rather than compared as NaN.
    expect(metrics.segments?.["channel=pos"]).not.toHaveProperty("roc_auc");
    expect(metrics.segments?.["channel=pos"]?.accuracy).toBe(1);
    expect(metrics.segments).not.toHaveProperty("channel=atm");
    expect(() => holdoutMetrics(rows.slice(1), scores, { classLabels: ["0", "1"] }, segments)).toThrow(
      /4 scores for 3 holdout rows/,
    );
  });

  it("compares a segment only with enough events of every class in the holdout", () => {
    const vector = (column: number) => order.map((_, i) => (i === column ? 1 : 0));
    const rows: LabelledRow[] = [
      ...Array.from({ length: 25 }, (_, i) => ({ eventId: `p${i}`, eventTime: 0, features: vector(pos), label: 1 })),
      ...Array.from({ length: 30 }, (_, i) => ({ eventId: `n${i}`, eventTime: 0, features: vector(pos), label: 0 })),
      ...Array.from({ length: 19 }, (_, i) => ({ eventId: `e${i}`, eventTime: 0, features: vector(ecom), label: 1 })),
      ...Array.from({ length: 90 }, (_, i) => ({ eventId: `f${i}`, eventTime: 0, features: vector(ecom), label: 0 })),
    ];
    const { compared, skipped } = comparableSegments(rows, segments, 2);
    expect(compared.map((s) => s.name)).toEqual(["channel=pos"]);
    expect(skipped).toEqual([
      { name: "channel=ecom", classCounts: [90, 19] },
      { name: "channel=atm", classCounts: [0, 0] },
    ]);
    expect(comparableSegments(rows, segments, 2, 19).compared.map((s) => s.name)).toEqual([
      "channel=pos",
      "channel=ecom",
    ]);
  });
});
