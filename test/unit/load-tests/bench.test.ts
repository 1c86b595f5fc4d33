// The benchmark's pure parts: summaries, percentiles, bounds and ratios, and the table.
import { describe, expect, it } from "vitest";
import { buildRows, type Measurements } from "../../../load-tests/bench/assemble.ts";
import { boundOf, meets, pipelineParts, ratio } from "../../../load-tests/bench/bounds.ts";
import { formatNumber, renderMarkdown, renderTable, unmeasuredSections } from "../../../load-tests/bench/report.ts";
import { cpuSecondsPerThousand, percentile, ratePerSecond, summarize } from "../../../load-tests/bench/stats.ts";

const flat = (value: number) => summarize([value, value, value]);

describe("summaries", () => {
  it("gives the median, min and max of the runs", () => {
    expect(summarize([30, 10, 20])).toEqual({ median: 20, min: 10, max: 30, runs: [30, 10, 20] });
    expect(summarize([4, 1, 3, 2]).median).toBe(2.5);
    expect(() => summarize([])).toThrow();
  });

  it("takes nearest-rank percentiles, values that were observed", () => {
    const values = Array.from({ length: 1000 }, (_, i) => 1000 - i);
    expect(percentile(values, 0.5)).toBe(500);
    expect(percentile(values, 0.99)).toBe(990);
    expect(percentile(values, 0.999)).toBe(999);
    expect(percentile([7], 0.999)).toBe(7);
  });

  it("turns counts and CPU time into rates", () => {
    expect(ratePerSecond(5000, 2)).toBe(2500);
    expect(ratePerSecond(5000, 0)).toBe(0);
    expect(cpuSecondsPerThousand({ user: 1_500_000, system: 500_000 }, 10_000)).toBeCloseTo(0.2);
  });
});

describe("bounds", () => {
  it("is 1 / Σ(1 / limit) over the parts", () => {
    expect(boundOf([{ name: "a", rate: 100 }])).toBe(100);
    expect(
      boundOf([
        { name: "a", rate: 100 },
        { name: "b", rate: 100 },
      ]),
    ).toBeCloseTo(50);
    expect(
      boundOf([
        { name: "a", rate: 200 },
        { name: "b", rate: 300 },
        { name: "c", rate: 600 },
      ]),
    ).toBeCloseTo(100);
  });

  it("has no bound when a part is missing or not positive", () => {
    expect(boundOf([])).toBeUndefined();
    expect(boundOf([{ name: "a", rate: Number.NaN }])).toBeUndefined();
    expect(boundOf([{ name: "a", rate: 0 }])).toBeUndefined();
  });

  it("computes ratios and checks targets both ways", () => {
    expect(ratio(70, 100)).toBeCloseTo(0.7);
    expect(ratio(70, undefined)).toBeUndefined();
    expect(ratio(70, 0)).toBeUndefined();
    const atLeast = { label: "x", kind: "min", threshold: 0.7 } as const;
    const below = { label: "y", kind: "max", threshold: 100 } as const;
    expect(meets(atLeast, 0.7)).toBe(true);
    expect(meets(atLeast, 0.69)).toBe(false);
    expect(meets(below, 99)).toBe(true);
    expect(meets(below, 100)).toBe(false);
    expect(meets(below, undefined)).toBeUndefined();
  });

  it("sums every part of every stage for the pipeline", () => {
    const p = (rate: number) => ({ name: String(rate), rate });
    const parts = pipelineParts({ ingest: [p(400)], transformer: [p(400)], inference: [p(400)], sink: [p(400)] });
    expect(boundOf(parts)).toBeCloseTo(100);
  });
});

function measurements(): Measurements {
  const avro = Object.fromEntries(
    ["raw", "features", "scored"].flatMap((k) => [
      [`encode ${k}`, flat(1e6)],
      [`decode ${k}`, flat(1e6)],
    ]),
  );
  return {
    kafka: { produce: flat(100_000), consume: flat(100_000), hop: flat(50_000) },
    avro,
    transformerWork: flat(500_000),
    onnx: new Map([["payments", new Map([[256, flat(500_000)]])]]),
    clickhouse: flat(100_000),
    http: flat(150_000),
    inferenceModel: "payments",
    inferenceBatch: 256,
    stages: {
      transformer: { rate: summarize([20_000, 25_000, 30_000]), cpuPerThousand: flat(0.02) },
      inference: {
        rate: flat(10_000),
        cpuPerThousand: flat(0.03),
        scoring: summarize([300_000, 450_000, 420_000]),
        rowsPerRun: 250,
      },
    },
    pipeline: undefined,
  };
}

describe("rows and the table", () => {
  it("puts each stage against its bound and checks the targets", () => {
    const rows = buildRows(measurements());
    const transformer = rows.find((r) => r.measure === "transformer");
    // kafkajs hop 50k + its own work 500k + the changelog's produce 100k → 1 / (1/50k + 1/500k + 1/100k) = 31,250
    const bound = 1 / (1 / 50_000 + 1 / 500_000 + 1 / 100_000);
    expect(transformer?.bound).toBeCloseTo(bound);
    const transformerRatio = rows.find((r) => r.measure === "transformer ÷ bound");
    expect(transformerRatio?.value?.median).toBeCloseTo(25_000 / bound);
    expect(transformerRatio?.value?.min).toBeCloseTo(20_000 / bound);
    expect(transformerRatio?.met).toBe(true);
    // Scoring inside the stage against raw onnxruntime at the same batch size, not the stage's events/s.
    const scoring = rows.find((r) => r.measure === "inference @256 scoring (model runs in the stage)");
    expect(scoring?.bound).toBe(500_000);
    expect(scoring?.note).toContain("250 rows per run");
    const scoringRatio = rows.find((r) => r.measure === "inference scoring ÷ onnxruntime payments @256");
    expect(scoringRatio?.value?.median).toBeCloseTo(0.84);
    expect(scoringRatio?.value?.min).toBeCloseTo(0.6);
    expect(scoringRatio?.met).toBe(true);
    // Not measured: no value, no verdict.
    const sink = rows.find((r) => r.measure === "monitor sink → ClickHouse ÷ bound");
    expect(sink?.value).toBeUndefined();
    expect(sink?.met).toBeUndefined();
    expect(rows.find((r) => r.measure === "pipeline ÷ bound")?.met).toBeUndefined();
  });

  it("gives no verdict for a ratio above its bound, and says why", () => {
    const m = measurements();
    // The raw onnxruntime figure measured while the host was slow: scoring in the stage beats its own bound.
    m.onnx = new Map([["payments", new Map([[256, flat(150_000)]])]]);
    const rows = buildRows(m);
    const scoringRatio = rows.find((r) => r.measure === "inference scoring ÷ onnxruntime payments @256");
    expect(scoringRatio?.value?.median).toBeGreaterThan(1);
    expect(scoringRatio?.met).toBeUndefined();
    expect(scoringRatio?.note).toContain("above its bound");
    // A ratio under its bound keeps its verdict.
    expect(rows.find((r) => r.measure === "transformer ÷ bound")?.met).toBe(true);
  });

  it("bounds a stage by the Kafka client it runs on", () => {
    const m = measurements();
    const rate = summarize([400_000, 400_000, 400_000]);
    m.kafkaClients = {
      librdkafka: { produce: rate, consume: summarize([200_000, 200_000, 200_000]) },
      platformatic: { produce: rate, consume: rate },
      transactionMs: { kafkajs: flat(20), librdkafka: flat(15), platformatic: flat(12) },
      transactionRecords: 2000,
      hop: { kafkajs: { p50: flat(30), p99: flat(130) }, librdkafka: { p50: flat(17), p99: flat(120) } },
      hopRate: 2000,
    };
    m.clients = { transformer: "librdkafka", inference: "kafkajs", other: "librdkafka" };
    const rows = buildRows(m);
    // Each client's one-hop latency is its own row, named with the rate it was measured at.
    expect(rows.find((r) => r.measure === "one hop at 2000 records/s p99, librdkafka")?.value?.median).toBe(120);
    expect(rows.find((r) => r.measure === "one hop at 2000 records/s p50, kafkajs")?.value?.median).toBe(30);
    // librdkafka hop 1/(1/400k + 1/200k) + work 500k + changelog produce 400k
    const hop = 1 / (1 / 400_000 + 1 / 200_000);
    expect(rows.find((r) => r.measure === "transformer")?.bound).toBeCloseTo(1 / (1 / hop + 1 / 500_000 + 1 / 400_000));
    // Inference stays on kafkajs here: hop 50k + decode 1M + encode 1M + onnxruntime 500k.
    expect(rows.find((r) => r.measure === "inference @256")?.bound).toBeCloseTo(
      1 / (1 / 50_000 + 2 / 1e6 + 1 / 500_000),
    );
  });

  it("renders one Markdown table with a row per figure, ✔/✘ and n/a", () => {
    const rows = buildRows(measurements());
    const table = renderTable(rows);
    const lines = table.split("\n");
    expect(lines[0]).toBe("| Section | Measure | Median | Min | Max | Unit | Bound | Target | Met | Note |");
    expect(lines[1]).toBe("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |");
    expect(lines).toHaveLength(rows.length + 2);
    expect(table).toContain(
      "| 1 raw | Kafka produce (idempotent, acks=all) | 100,000 | 100,000 | 100,000 | records/s |",
    );
    expect(table).toContain("| 4 ratio | transformer ÷ bound | 80.0% | 64.0% | 96.0% |");
    expect(table).toContain("✔");
    expect(table).toContain("✘");
    expect(table).toContain("| 2 stage | monitor sink → ClickHouse | n/a |");
    const markdown = renderMarkdown({
      startedAt: "2026-11-27T00:00:00.000Z",
      durationSeconds: 301.4,
      machine: { cpus: "2" },
      settings: { BENCH_RUNS: 3 },
      rows,
      notes: ["a | note"],
    });
    expect(markdown).toContain("Took 301 s.");
    expect(markdown).toContain("- cpus: 2");
    expect(markdown).toContain("- BENCH_RUNS: 3");
    expect(markdown).toContain(table);
    expect(markdown.endsWith("- a | note\n")).toBe(true);
  });

  it("reports the pipeline's latency and its event-loop delay at the offered rate", () => {
    const latency = { p50: flat(40), p99: summarize([80, 95, 120]), p999: flat(150), samples: 3000 };
    const rows = buildRows({
      ...measurements(),
      pipeline: {
        rate: flat(8000),
        cpuPerThousand: flat(0.1),
        offeredRate: 4000,
        scored: latency,
        clickhouse: latency,
        loopDelayP99: summarize([12, 30, 18]),
      },
    });
    expect(rows.find((r) => r.measure === "ingest → scored topic p99 at 4000 events/s")?.met).toBe(true);
    expect(rows.find((r) => r.measure === "event-loop delay p99 at 4000 events/s")?.value?.median).toBe(18);
    expect(buildRows(measurements()).find((r) => r.measure === "event-loop delay p99")?.value).toBeUndefined();
  });

  it("reports a latency measured below its planned load beside that load, and never as meeting the target", () => {
    const latency = { p50: flat(40), p99: flat(60), p999: flat(90), samples: 3000 };
    const rows = buildRows({
      ...measurements(),
      pipeline: {
        rate: flat(8000),
        cpuPerThousand: flat(0.1),
        offeredRate: 3000,
        plannedRate: 4000,
        refused: [
          { rate: 4000, accepted: 35_000, sent: 40_000, refusals: { "503 OVERLOADED": 2, "429 BACK_PRESSURE": 498 } },
        ],
        scored: latency,
        clickhouse: latency,
      },
    });
    const p99 = rows.find((r) => r.measure === "ingest → scored topic p99 at 3000 events/s");
    expect(p99?.value?.median).toBe(60);
    expect(p99?.met).toBe(false);
    expect(p99?.note).toBe(
      "measured at 3000/s, the highest load fully accepted; planned 4000/s (half the max), refused: 35000 of 40000 accepted at 4000/s (429 BACK_PRESSURE × 498, 503 OVERLOADED × 2)",
    );
    const p50 = rows.find((r) => r.measure === "ingest → scored topic p50 at 3000 events/s");
    expect(p50?.note).toMatch(/^3000 samples; measured at 3000\/s/);
  });

  it("judges the low-load latency against < 50 ms only at 200 events/s, and says when the API refused it", () => {
    const half = { p50: flat(40), p99: flat(60), p999: flat(90), samples: 3000 };
    const low = (rate: number, p99: number) => ({
      rate,
      scored: { p50: flat(20), p99: flat(p99), p999: flat(p99 + 10), samples: 6000 },
    });
    const pipeline = { rate: flat(8000), cpuPerThousand: flat(0.1), offeredRate: 4000, scored: half, clickhouse: half };
    const p99At = (l: NonNullable<Measurements["pipeline"]>["low"], rate: number) =>
      buildRows({ ...measurements(), pipeline: { ...pipeline, low: l } }).find(
        (r) => r.measure === `ingest → scored topic p99 at ${rate} events/s`,
      );
    expect(p99At(low(200, 45), 200)?.met).toBe(true);
    expect(p99At(low(200, 55), 200)?.met).toBe(false);
    // Another rate is reported, not judged.
    expect(p99At(low(100, 45), 100)?.met).toBeUndefined();
    const refused = p99At(
      { rate: 200, refused: { rate: 200, accepted: 1900, sent: 2000, refusals: { "503 OVERLOADED": 10 } } },
      200,
    );
    expect(refused?.value).toBeUndefined();
    expect(refused?.met).toBeUndefined();
    expect(refused?.note).toBe("not measured: the API accepted 1900 of 2000 (503 OVERLOADED × 10)");
  });

  it("formats numbers compactly", () => {
    expect(formatNumber(1234567.8)).toBe("1,234,568");
    expect(formatNumber(12.345)).toBe("12.3");
    expect(formatNumber(0.01234)).toBe("0.0123");
    expect(formatNumber(0.7, "%")).toBe("70.0%");
    expect(formatNumber(0)).toBe("0");
  });
});

describe("the peers", () => {
  it("puts the inference stage's runs over each peer's median, with the issue's targets", () => {
    const peers = {
      "PEER-1 python": {
        rate: flat(8000),
        cpuPerThousand: flat(0.02),
        brokerCpuPerThousand: flat(0.01),
        recordsPerTransaction: 2000,
      },
      "PEER-2 quix": { rate: flat(2000), cpuPerThousand: flat(0.1) },
    };
    const rows = buildRows({ ...measurements(), peers });
    const row = (measure: string) => rows.find((r) => r.measure === measure);
    // The stage: 10,000 events/s at 0.03 CPU-s/1k.
    expect(row("inference @256 ÷ PEER-1 python")?.value?.median).toBeCloseTo(1.25);
    expect(row("inference @256 ÷ PEER-1 python")?.met).toBe(false);
    expect(row("inference @256 CPU ÷ PEER-1 python CPU")?.value?.median).toBeCloseTo(1.5);
    expect(row("inference @256 CPU ÷ PEER-1 python CPU")?.met).toBe(false);
    expect(row("inference @256 ÷ PEER-2 quix")?.value?.median).toBeCloseTo(5);
    expect(row("inference @256 ÷ PEER-2 quix")?.met).toBe(true);
    expect(row("inference @256 ÷ PEER-2 quix")?.target).toBe("≥ 400% of PEER-2's events/s");
    expect(row("PEER-1 python")?.note).toContain("2000 records per transaction");
    expect(row("PEER-1 python broker CPU")?.value?.median).toBe(0.01);
    // A peer not measured: no value and no verdict.
    expect(row("PEER-1 python per poll")?.value).toBeUndefined();
    expect(buildRows(measurements()).find((r) => r.measure === "inference @256 ÷ PEER-1 python")?.met).toBeUndefined();
  });

  it("passes the CPU target at equal CPU, not above it", () => {
    const equal = { rate: flat(10_000), cpuPerThousand: flat(0.03) };
    const rows = buildRows({ ...measurements(), peers: { "PEER-1 python": equal } });
    expect(rows.find((r) => r.measure === "inference @256 CPU ÷ PEER-1 python CPU")?.met).toBe(true);
  });
});

describe("a run that could not measure", () => {
  it("names every section left unmeasured, and nothing else", () => {
    const notes = [
      "whole pipeline: not measured — 12030 of 14211 latency events accepted",
      "Stages alone run in this process; nothing here was not measured",
      "raw: Kafka: not measured — broker unreachable",
    ];
    expect(unmeasuredSections({ notes })).toEqual([notes[0], notes[2]]);
    expect(unmeasuredSections({ notes: [notes[1] as string] })).toEqual([]);
  });
});
