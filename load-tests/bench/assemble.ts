// Turns the measurements into the table's rows: raw limits, stages with their bounds, the
// pipeline, and the ratios checked against the issue's targets. Pure.

import type { EosClient } from "../../services/shared/kafka/eos-client.ts";
import { boundOf, meets, type Part, pipelineParts, ratio, type StageParts, type Target } from "./bounds.ts";
import type { PeerName, PeerResult } from "./peers.ts";
import type { KafkaClientFigures } from "./raw-kafka-clients.ts";
import { describeRefusals, type RefusedRun, type Row } from "./report.ts";
import { type Summary, summarize } from "./stats.ts";

export interface StageFigures {
  rate: Summary;
  cpuPerThousand: Summary;
  /** Inference: rows/s inside the model's runs while the stage ran. */
  scoring?: Summary;
  /** Inference: mean rows per model run. */
  rowsPerRun?: number;
}

export interface LatencyFigures {
  p50: Summary;
  p99: Summary;
  p999: Summary;
  samples: number;
}

export interface Measurements {
  kafka: { produce: Summary; consume: Summary; hop: Summary };
  /** A candidate client beside kafkajs, and one transaction's cost in each. */
  kafkaClients?: KafkaClientFigures;
  avro: Record<string, Summary>;
  /** The transformer's `process()` alone, no Kafka (raw-transformer.ts). */
  transformerWork?: Summary;
  /** model → batch → rows/s. */
  onnx: Map<string, Map<number, Summary>>;
  /** RowBinary inserts, the sink's format (its bound). */
  clickhouse: Summary;
  /** JSONEachRow inserts of the same rows, for comparison. */
  clickhouseJson?: Summary;
  http: Summary;
  /** Model and batch size the inference stage runs at. */
  inferenceModel: string;
  inferenceBatch: number;
  stages: {
    ingest?: StageFigures;
    transformer?: StageFigures;
    inference?: StageFigures;
    /** The inference stage on the other exactly-once client, for comparison. */
    inferenceOther?: StageFigures;
    sink?: StageFigures;
  };
  /** The peer scorers on the inference stage's records (peers.ts). */
  peers?: Partial<Record<PeerName, PeerResult>>;
  /** The exactly-once client of each stage in this run, and the inference stage's other one. */
  clients?: { transformer: EosClient; inference: EosClient; other: EosClient };
  pipeline?: {
    rate: Summary;
    cpuPerThousand: Summary;
    /** The load the latency was measured at; below `plannedRate` when the API refused part of that. */
    offeredRate: number;
    plannedRate?: number;
    refused?: RefusedRun[];
    scored: LatencyFigures;
    clickhouse: LatencyFigures;
    /** Event-loop delay p99 (ms) of the process running the services, during the latency runs. */
    loopDelayP99?: Summary;
    /** Latency at a fixed low load; `refused` when the API did not take all of it. */
    low?: {
      rate: number;
      scored?: LatencyFigures;
      refused?: RefusedRun;
    };
  };
}

/** The low load the issue sets its tighter latency target at (events/s). */
export const lowLatencyRate = 200;

export const targets = {
  stage: { label: "stage ≥ 70% of its bound", kind: "min", threshold: 0.7 },
  pipeline: { label: "pipeline ≥ 60% of its bound", kind: "min", threshold: 0.6 },
  latency: { label: "ingest → scored p99 < 100 ms at half max load", kind: "max", threshold: 100 },
  lowLatency: { label: `ingest → scored p99 < 50 ms at ${lowLatencyRate} events/s`, kind: "max", threshold: 50 },
  inference: { label: "inference ≥ 80% of raw onnxruntime at its batch size", kind: "min", threshold: 0.8 },
  peer1: { label: "inference ≥ 150% of PEER-1's events/s", kind: "min", threshold: 1.5 },
  // "max" passes below its threshold: a hair above 1 lets equal CPU pass.
  peer1Cpu: { label: "inference CPU per 1k events ≤ 100% of PEER-1's", kind: "max", threshold: 1.000001 },
  peer2: { label: "inference ≥ 400% of PEER-2's events/s", kind: "min", threshold: 4 },
} satisfies Record<string, Target>;

function formatRows(value: number): string {
  return value.toFixed(0);
}

function part(name: string, value: Summary | undefined): Part {
  return { name, rate: value?.median ?? Number.NaN };
}

function clientPart(name: string, rate: number | undefined): Part {
  return { name, rate: rate ?? Number.NaN };
}

/** A stage's Kafka parts are those of the client it runs on (kafkajs's from raw-kafka.ts). */
function produceOf(m: Measurements, client: EosClient | undefined): number | undefined {
  return client === "librdkafka" ? m.kafkaClients?.librdkafka.produce.median : m.kafka.produce.median;
}

function hopOf(m: Measurements, client: EosClient | undefined): number | undefined {
  if (client !== "librdkafka") return m.kafka.hop.median;
  const figures = m.kafkaClients?.librdkafka;
  return figures ? 1 / (1 / figures.produce.median + 1 / figures.consume.median) : undefined;
}

/** The raw limits each stage is made of (the issue's definition). */
export function stageParts(m: Measurements): StageParts {
  const onnx = m.onnx.get(m.inferenceModel)?.get(m.inferenceBatch);
  return {
    ingest: [part("kafka produce", m.kafka.produce), part("avro encode raw", m.avro["encode raw"])],
    // Its own work (decode, cleaning, keyed hash, state, rolling features, encode) is one raw
    // limit; the changelog is a second output stream, one record per event.
    transformer: [
      clientPart("kafka hop", hopOf(m, m.clients?.transformer)),
      part("transformer work", m.transformerWork),
      clientPart("kafka produce changelog", produceOf(m, m.clients?.transformer)),
    ],
    inference: [
      clientPart("kafka hop", hopOf(m, m.clients?.inference)),
      part("avro decode features", m.avro["decode features"]),
      part("avro encode scored", m.avro["encode scored"]),
      part(`onnxruntime ${m.inferenceModel} @${m.inferenceBatch}`, onnx),
    ],
    sink: [
      part("kafka consume", m.kafka.consume),
      part("avro decode scored", m.avro["decode scored"]),
      part("clickhouse insert", m.clickhouse),
    ],
  };
}

/** Each run divided by the bound: the ratio's median, min and max. */
function ratioSummary(value: Summary | undefined, bound: number | undefined): Summary | undefined {
  if (!value || bound === undefined) return undefined;
  return summarize(value.runs.map((v) => ratio(v, bound) as number));
}

function ratioRow(measure: string, value: Summary | undefined, reference: number | undefined, target: Target): Row {
  const r = ratioSummary(value, reference);
  return {
    section: "4 ratio",
    measure,
    unit: "%",
    value: r,
    target: target.label.replace(/^.*?([≥≤<].*)$/, "$1"),
    met: meets(target, r?.median),
  };
}

/**
 * A ratio to a bound, which nothing can pass: above 100% a raw part was measured while the host
 * was slower than during the stage (a shared machine's speed varies), so the row gives no verdict.
 */
function boundRatioRow(measure: string, value: Summary | undefined, bound: number | undefined, target: Target): Row {
  const row = ratioRow(measure, value, bound, target);
  if ((row.value?.median ?? 0) <= 1) return row;
  return {
    ...row,
    met: undefined,
    note: "above its bound: a raw part was measured while the host ran slower; no verdict from this run",
  };
}

export function buildRows(m: Measurements): Row[] {
  const rows: Row[] = [];
  const raw = (measure: string, value: Summary | undefined, unit = "records/s", note?: string) =>
    rows.push({ section: "1 raw", measure, unit, value, note });
  raw("Kafka produce (idempotent, acks=all)", m.kafka.produce);
  raw("Kafka consume (group, eachBatch)", m.kafka.consume);
  raw("Kafka one hop produce→consume", m.kafka.hop, "records/s", "1/(1/produce + 1/consume) per run");
  const clients = m.kafkaClients;
  for (const [client, name, note] of [
    ["librdkafka", "librdkafka", "the second exactly-once client, same records"],
    ["platformatic", "@platformatic/kafka", "candidate client, same records"],
  ] as const) {
    raw(`Kafka produce, ${name}`, clients?.[client].produce, "records/s", note);
    raw(`Kafka consume, ${name}`, clients?.[client].consume, "records/s", note);
  }
  const records = clients?.transactionRecords ?? "N";
  const processorNote =
    "the services' transactional processor: records out, the consumed offsets, commit; median transaction per run";
  raw(`one transaction of ${records} records, kafkajs`, clients?.transactionMs.kafkajs, "ms", processorNote);
  raw(`one transaction of ${records} records, librdkafka`, clients?.transactionMs.librdkafka, "ms", processorNote);
  raw(
    `one transaction of ${records} records, @platformatic/kafka`,
    clients?.transactionMs.platformatic,
    "ms",
    "addConsumer, send, addOffset of the chunk's last record, commit; median transaction per run",
  );
  for (const client of ["kafkajs", "librdkafka"] as const) {
    const hopNote =
      "input timestamp → read-committed reader, through the services' processor, pass-through; median of the runs' percentiles";
    raw(`one hop at ${clients?.hopRate ?? "N"} records/s p50, ${client}`, clients?.hop[client].p50, "ms", hopNote);
    raw(`one hop at ${clients?.hopRate ?? "N"} records/s p99, ${client}`, clients?.hop[client].p99, "ms", hopNote);
  }
  for (const kind of ["raw", "features", "scored"]) {
    raw(`Avro encode ${kind}`, m.avro[`encode ${kind}`]);
    raw(`Avro decode ${kind}`, m.avro[`decode ${kind}`]);
  }
  for (const [model, batches] of m.onnx) {
    for (const [batch, value] of batches) raw(`onnxruntime ${model} @${batch}`, value, "rows/s");
  }
  raw(
    "ClickHouse insert predictions, RowBinary",
    m.clickhouse,
    "rows/s",
    "the sink's format; encoding timed with the insert",
  );
  if (m.clickhouseJson) {
    raw("ClickHouse insert predictions, JSONEachRow", m.clickhouseJson, "rows/s", "official client; for comparison");
  }
  raw(
    "transformer work, no Kafka",
    m.transformerWork,
    "records/s",
    "the stage's process(): decode, cleaning, keyed hash, state, rolling features, features and changelog encode",
  );
  raw("HTTP ingest API, no Kafka", m.http, "events/s", "autocannon load client; sender acknowledges at once");

  const parts = stageParts(m);
  const stageNames = [
    ["ingest", "ingest API → Kafka"],
    ["transformer", "transformer"],
    ["inference", `inference @${m.inferenceBatch}`],
    ["sink", "monitor sink → ClickHouse"],
  ] as const;
  for (const [key, label] of stageNames) {
    const figures = m.stages[key];
    rows.push({
      section: "2 stage",
      measure: label,
      unit: "events/s",
      value: figures?.rate,
      bound: boundOf(parts[key]),
      note: `bound: ${parts[key].map((p) => p.name).join(" + ")}`,
    });
    rows.push({ section: "2 stage", measure: `${label} CPU`, unit: "CPU-s/1k events", value: figures?.cpuPerThousand });
  }
  const other = m.stages.inferenceOther;
  const otherName = m.clients?.other ?? "the other client";
  rows.push({
    section: "2 stage",
    measure: `inference @${m.inferenceBatch} on ${otherName}`,
    unit: "events/s",
    value: other?.rate,
    bound: boundOf(parts.inference),
    note: `the same stage on the other exactly-once client, same run (stages here: transformer on ${m.clients?.transformer}, inference on ${m.clients?.inference})`,
  });
  rows.push({
    section: "2 stage",
    measure: `inference @${m.inferenceBatch} on ${otherName} CPU`,
    unit: "CPU-s/1k events",
    value: other?.cpuPerThousand,
  });
  const onnxAtBatch = m.onnx.get(m.inferenceModel)?.get(m.inferenceBatch)?.median;
  const scoring = m.stages.inference?.scoring;
  const rowsPerRun = m.stages.inference?.rowsPerRun;
  rows.push({
    section: "2 stage",
    measure: `inference @${m.inferenceBatch} scoring (model runs in the stage)`,
    unit: "rows/s",
    value: scoring,
    bound: onnxAtBatch,
    note: `rows ÷ seconds inside score() during the stage runs${rowsPerRun === undefined ? "" : `, ${formatRows(rowsPerRun)} rows per run`}; bound: onnxruntime ${m.inferenceModel} @${m.inferenceBatch}`,
  });

  const p = m.pipeline;
  const pipelineBound = boundOf(pipelineParts(parts));
  rows.push({
    section: "3 pipeline",
    measure: "HTTP in → rows in ClickHouse",
    unit: "events/s",
    value: p?.rate,
    bound: pipelineBound,
    note: "four service processes; bound: every part of every stage",
  });
  rows.push({
    section: "3 pipeline",
    measure: "whole pipeline CPU",
    unit: "CPU-s/1k events",
    value: p?.cpuPerThousand,
  });
  const offered = p ? ` at ${p.offeredRate} events/s` : "";
  // The target is set at half the maximum: a latency measured lower does not meet it, however low.
  const belowPlan = p?.plannedRate !== undefined && p.offeredRate < p.plannedRate;
  const refusals = (p?.refused ?? [])
    .map((r) => `${r.accepted} of ${r.sent} accepted at ${r.rate}/s (${describeRefusals(r.refusals)})`)
    .join(", ");
  const planNote = belowPlan
    ? `measured at ${p?.offeredRate}/s, the highest load fully accepted; planned ${p?.plannedRate}/s (half the max), refused: ${refusals}`
    : undefined;
  for (const [key, what] of [
    ["scored", "ingest → scored topic"],
    ["clickhouse", "ingest → visible in ClickHouse"],
  ] as const) {
    const l = p?.[key];
    for (const [q, name] of [
      ["p50", "p50"],
      ["p99", "p99"],
      ["p999", "p99.9"],
    ] as const) {
      const isTarget = key === "scored" && q === "p99";
      rows.push({
        section: "3 pipeline",
        measure: `${what} ${name}${offered}`,
        unit: "ms",
        value: l?.[q],
        target: isTarget ? "< 100 ms" : undefined,
        met: isTarget ? !belowPlan && meets(targets.latency, l?.[q].median) : undefined,
        note:
          q === "p50" && l ? `${l.samples} samples${planNote ? `; ${planNote}` : ""}` : isTarget ? planNote : undefined,
      });
    }
  }
  rows.push(...lowLoadRows(p?.low));
  rows.push({
    section: "3 pipeline",
    measure: `event-loop delay p99${offered}`,
    unit: "ms",
    value: p?.loopDelayP99,
    note: "the slowest of the four service processes during the latency runs (prom-client, 10 ms resolution)",
  });

  for (const [key, label] of stageNames) {
    rows.push(boundRatioRow(`${label} ÷ bound`, m.stages[key]?.rate, boundOf(parts[key]), targets.stage));
  }
  rows.push(boundRatioRow("pipeline ÷ bound", p?.rate, pipelineBound, targets.pipeline));
  rows.push(
    boundRatioRow(
      `inference scoring ÷ onnxruntime ${m.inferenceModel} @${m.inferenceBatch}`,
      scoring,
      onnxAtBatch,
      targets.inference,
    ),
  );
  rows.push(...peerRows(m));
  return rows;
}

/** ingest → scored at the low load; its p99 target holds only at the rate it names. */
function lowLoadRows(low: NonNullable<Measurements["pipeline"]>["low"]): Row[] {
  if (!low) return [];
  const refused = low.refused
    ? `not measured: the API accepted ${low.refused.accepted} of ${low.refused.sent} (${describeRefusals(low.refused.refusals)})`
    : undefined;
  const atTargetRate = low.rate === lowLatencyRate;
  return (["p50", "p99"] as const).map((q) => ({
    section: "3 pipeline",
    measure: `ingest → scored topic ${q} at ${low.rate} events/s`,
    unit: "ms",
    value: low.scored?.[q],
    target: q === "p99" ? `< 50 ms at ${lowLatencyRate} events/s` : undefined,
    met: q === "p99" && atTargetRate ? meets(targets.lowLatency, low.scored?.p99.median) : undefined,
    note: q === "p50" ? (refused ?? `${low.scored?.samples} samples`) : refused,
  }));
}

/** Each peer's figures, and the inference stage against them (its runs over the peer's median). */
function peerRows(m: Measurements): Row[] {
  const peer = (name: PeerName) => m.peers?.[name];
  const stage = m.stages.inference;
  const rows: Row[] = [];
  for (const name of ["PEER-1 python", "PEER-1 python per poll", "PEER-2 quix"] as const) {
    const p = peer(name);
    const perTxn =
      p?.recordsPerTransaction === undefined ? "" : `, ${Math.round(p.recordsPerTransaction)} records per transaction`;
    rows.push({
      section: "5 peers",
      measure: name,
      unit: "events/s",
      value: p?.rate,
      note: `same records, model and batch as inference @${m.inferenceBatch}${perTxn}`,
    });
    rows.push({
      section: "5 peers",
      measure: `${name} CPU`,
      unit: "CPU-s/1k events",
      value: p?.cpuPerThousand,
      note: "the peer's own, all threads",
    });
    rows.push({
      section: "5 peers",
      measure: `${name} broker CPU`,
      unit: "CPU-s/1k events",
      value: p?.brokerCpuPerThousand,
    });
  }
  const ratios = [
    ratioRow(
      `inference @${m.inferenceBatch} ÷ PEER-1 python`,
      stage?.rate,
      peer("PEER-1 python")?.rate.median,
      targets.peer1,
    ),
    ratioRow(
      `inference @${m.inferenceBatch} CPU ÷ PEER-1 python CPU`,
      stage?.cpuPerThousand,
      peer("PEER-1 python")?.cpuPerThousand.median,
      targets.peer1Cpu,
    ),
    ratioRow(
      `inference @${m.inferenceBatch} ÷ PEER-2 quix`,
      stage?.rate,
      peer("PEER-2 quix")?.rate.median,
      targets.peer2,
    ),
  ];
  return [...rows, ...ratios.map((r) => ({ ...r, section: "5 peers" }))];
}
