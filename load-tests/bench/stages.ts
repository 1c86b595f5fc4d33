// Each stage alone at saturation, run in this process: the ingest API driven over HTTP; the
// transformer, inference and the monitor's sink each started on a topic pre-loaded with records,
// timed from the moment the service is ready (partitions assigned, state restored) until every
// record is committed (transformer, inference: the group's committed offsets) or stored (sink:
// rows in ClickHouse). CPU is this process's process.cpuUsage() over the same window. The sink's
// window starts when its partitions are assigned: it inserts whole fetches, so its first progress
// can already be a third of the records.

import { setTimeout as sleep } from "node:timers/promises";
import type { InferenceMetrics } from "../../services/inference/metrics.ts";
import { parseAvroSchema } from "../../services/shared/kafka/avro-codec.ts";
import { chunksOf, openOffsetReader, sendChunks } from "../../services/shared/kafka/bulk.ts";
import type { Message } from "../../services/shared/kafka/client.ts";
import type { EosClient } from "../../services/shared/kafka/eos-client.ts";
import { encodeWireFormat } from "../../services/shared/kafka/wire-format.ts";
import { pipelineTopics } from "../../services/shared/pipeline/definition.ts";
import { type ScoredRecord, scoredSchema } from "../../services/shared/pipeline/records.ts";
import { type BenchEnvironment, type BenchPipeline, createBenchDatabase, createBenchPipeline } from "./environment.ts";
import { runLoadProcess } from "./load-process.ts";
import { predictionCount } from "./progress.ts";
import { startServices } from "./services.ts";
import { cpuSecondsPerThousand, ratePerSecond, type Summary, summarize } from "./stats.ts";

export interface StageResult {
  rate: Summary;
  cpuPerThousand: Summary;
  /** Inference only: rows/s inside the model's runs in the stage (rows ÷ seconds in score()). */
  scoring?: Summary;
  /** Inference only: mean rows per model run, over all runs. */
  rowsPerRun?: number;
}

export interface StageOptions {
  runs: number;
  records: number;
  batch: number;
  inferenceBatch: number;
  cards: number;
  log: (line: string) => void;
  /** The stage's exactly-once client, when not the service's default. */
  kafkaClient?: EosClient;
}

interface OneRun {
  rate: number;
  cpu: number;
  scoring?: { rows: number; seconds: number; runs: number };
}

async function repeatStage(name: string, options: StageOptions, run: (records: number) => Promise<OneRun>) {
  await run(Math.max(1000, Math.floor(options.records / 3)));
  const runs: OneRun[] = [];
  for (let i = 0; i < options.runs; i += 1) {
    const result = await run(options.records);
    runs.push(result);
    const scoring = result.scoring
      ? `, scoring ${Math.round(result.scoring.rows / result.scoring.seconds)} rows/s in model runs`
      : "";
    options.log(
      `  ${name} run ${i + 1}: ${Math.round(result.rate)} events/s, ${result.cpu.toFixed(3)} CPU-s/1k${scoring}`,
    );
  }
  const result: StageResult = {
    rate: summarize(runs.map((r) => r.rate)),
    cpuPerThousand: summarize(runs.map((r) => r.cpu)),
  };
  const scored = runs.flatMap((r) => (r.scoring ? [r.scoring] : []));
  if (scored.length === runs.length && runs.length > 0) {
    result.scoring = summarize(scored.map((s) => s.rows / s.seconds));
    result.rowsPerRun = scored.reduce((n, s) => n + s.rows, 0) / scored.reduce((n, s) => n + s.runs, 0);
  }
  return result;
}

/** Rows, wall seconds and count of the inference service's model runs so far (its own metrics). */
async function modelRuns(metrics: InferenceMetrics): Promise<{ rows: number; seconds: number; runs: number }> {
  const sum = (values: Array<{ value: number; metricName?: string }>, suffix: string) =>
    values.filter((v) => v.metricName?.endsWith(suffix) ?? true).reduce((n, v) => n + v.value, 0);
  return {
    rows: sum((await metrics.modelRows.get()).values, ""),
    seconds: sum((await metrics.modelSeconds.get()).values, "_sum"),
    runs: sum((await metrics.modelRuns.get()).values, ""),
  };
}

/** The same records under another pipeline's schema id (each bench pipeline registers its own). */
function reframe(messages: readonly Message[], schemaId: number, count: number): Message[] {
  if (count > messages.length) throw new Error(`only ${messages.length} distinct records for ${count}`);
  return Array.from({ length: count }, (_, i) => {
    const m = messages[i] as Message;
    return { key: m.key, value: encodeWireFormat(schemaId, (m.value as Buffer).subarray(5)) };
  });
}

async function preload(env: BenchEnvironment, topic: string, messages: readonly Message[], batch: number) {
  await sendChunks(env.kafka, topic, chunksOf(messages, batch));
}

/**
 * Starts the service and samples its progress (records done) and this process's CPU time until
 * every record is done. The timed window runs from the first sample that shows progress to the
 * last, so start-up (group join, state restore, model load) is left out, and so is whatever the
 * service did before the first progress was seen (it is subtracted from the count).
 */
async function timeService(
  env: BenchEnvironment,
  pipeline: BenchPipeline,
  service: "transformer" | "inference" | "monitor",
  records: number,
  options: StageOptions & { database?: string },
  progress: () => Promise<number>,
  pollMs: number,
  /** Time from the moment the service is ready, not from its first visible progress. */
  fromReady = false,
): Promise<OneRun> {
  const samples: Array<{ at: number; count: number; cpu: NodeJS.CpuUsage }> = [];
  const deadline = Date.now() + 180_000;
  let stopped = false;
  const sampler = (async () => {
    while (!stopped) {
      const count = await progress();
      samples.push({ at: performance.now(), count, cpu: process.cpuUsage() });
      if (count >= records) return;
      if (Date.now() > deadline) throw new Error(`${service} did ${count} of ${records} records within 180 s`);
      await sleep(pollMs);
    }
  })();
  let running: Awaited<ReturnType<typeof startServices>> | undefined;
  let scoring: OneRun["scoring"];
  let readySample: (typeof samples)[number] | undefined;
  try {
    running = await startServices(env, pipeline, {
      services: [service],
      database: options.database,
      inferenceBatch: options.inferenceBatch,
      kafkaClient: options.kafkaClient,
    });
    if (fromReady) readySample = { at: performance.now(), count: await progress(), cpu: process.cpuUsage() };
    await sampler;
    if (running.inferenceMetrics) scoring = await modelRuns(running.inferenceMetrics);
  } finally {
    stopped = true;
    await sampler.catch(() => undefined);
    await running?.stop();
  }
  const first = readySample ?? samples.find((s) => s.count > 0);
  const last = samples[samples.length - 1];
  if (!first || !last || last.count - first.count < records / 2) {
    throw new Error(`${service}: too few records between the first and last samples; raise BENCH_STAGE_RECORDS`);
  }
  const done = last.count - first.count;
  const cpu = { user: last.cpu.user - first.cpu.user, system: last.cpu.system - first.cpu.system };
  return {
    rate: ratePerSecond(done, (last.at - first.at) / 1000),
    cpu: cpuSecondsPerThousand(cpu, done),
    scoring: scoring && scoring.seconds > 0 ? scoring : undefined,
  };
}

/** A consumer stage between two topics: pre-load its input, run it, wait for its group's commits. */
async function kafkaStage(
  env: BenchEnvironment,
  service: "transformer" | "inference",
  source: readonly Message[],
  options: StageOptions,
): Promise<StageResult> {
  const name = options.kafkaClient ? `${service} (${options.kafkaClient})` : service;
  return repeatStage(name, options, async (records) => {
    const pipeline = await createBenchPipeline(env);
    const offsets = await openOffsetReader(env.kafka);
    try {
      const topics = pipelineTopics(pipeline.definition.name);
      const input = service === "transformer" ? topics.raw : topics.features;
      const schemaId = service === "transformer" ? pipeline.ids.raw : pipeline.ids.features;
      await preload(env, input, reframe(source, schemaId, records), options.batch);
      const groupId = `streamscore-${service}-${pipeline.definition.name}`;
      return await timeService(
        env,
        pipeline,
        service,
        records,
        options,
        () => offsets.committedRecords(groupId, input),
        20,
      );
    } finally {
      await offsets.close();
      await pipeline.delete();
    }
  });
}

export function measureTransformer(env: BenchEnvironment, raw: readonly Message[], options: StageOptions) {
  return kafkaStage(env, "transformer", raw, options);
}

export function measureInference(env: BenchEnvironment, features: readonly Message[], options: StageOptions) {
  return kafkaStage(env, "inference", features, options);
}

/** The monitor (its predictions sink, with the drift monitor that reads the same topic) into ClickHouse. */
export function measureSink(env: BenchEnvironment, scored: readonly ScoredRecord[], options: StageOptions) {
  const type = parseAvroSchema(scoredSchema());
  return repeatStage("sink", options, async (records) => {
    const pipeline = await createBenchPipeline(env);
    const database = await createBenchDatabase(env);
    try {
      const topics = pipelineTopics(pipeline.definition.name);
      // Scored records name their pipeline, and the sink stores that name: re-encode under this one.
      if (records > scored.length) throw new Error(`only ${scored.length} distinct scored records for ${records}`);
      const messages: Message[] = Array.from({ length: records }, (_, i) => {
        const record = { ...(scored[i] as ScoredRecord), pipeline: pipeline.definition.name };
        return { key: record.entity, value: encodeWireFormat(pipeline.ids.scored, type.toBuffer(record)) };
      });
      await preload(env, topics.scored, messages, options.batch);
      return await timeService(
        env,
        pipeline,
        "monitor",
        records,
        { ...options, database: database.name },
        () => predictionCount(env, database.name, pipeline.definition.name),
        50,
        // Big inserts: the first rows can show up as a third of the run at once.
        true,
      );
    } finally {
      await database.drop();
      await pipeline.delete();
    }
  });
}

/** The ingest API with the real batching sender and Kafka: events accepted per second. */
export async function measureIngest(
  env: BenchEnvironment,
  options: StageOptions & { seconds: number; connections: number; httpBatch: number },
): Promise<StageResult> {
  const pipeline = await createBenchPipeline(env);
  const running = await startServices(env, pipeline, {
    services: ["producer"],
    inferenceBatch: options.inferenceBatch,
  });
  let index = 0;
  try {
    return await repeatStage("ingest", options, async () => {
      index += 1;
      const cpuAt = process.cpuUsage();
      const result = await runLoadProcess(
        {
          url: running.eventsUrl,
          mode: "duration",
          connections: options.connections,
          batch: options.httpBatch,
          seconds: options.seconds,
          seed: 200 + index,
          idPrefix: `ingest${index}`,
          cards: options.cards,
        },
        options.seconds * 1000 + 120_000,
      );
      const cpu = process.cpuUsage(cpuAt);
      if (result.failedRequests > 0) throw new Error(`${result.failedRequests} ingest requests failed`);
      return {
        rate: ratePerSecond(result.accepted, (result.finishedAt - result.startedAt) / 1000),
        cpu: cpuSecondsPerThousand(cpu, result.accepted),
      };
    });
  } finally {
    await running.stop();
    await pipeline.delete();
  }
}
