// Wires, per pipeline, a model store and a transactional processor: features in, scored out.
import { join } from "node:path";
import { errorCode } from "../shared/errors.ts";
import { type AvroCodec, createAvroCodec, parseAvroSchema } from "../shared/kafka/avro-codec.ts";
import type { Kafka, KafkaMessage, Message } from "../shared/kafka/client.ts";
import { deadLetter, decodeOrDeadLetter } from "../shared/kafka/dead-letter.ts";
import type { EosClient } from "../shared/kafka/eos-client.ts";
import type { SchemaRegistryClient } from "../shared/kafka/registry.ts";
import { createTransactionalProcessor, type TransactionalProcessor } from "../shared/kafka/transactional-processor.ts";
import type { Logger } from "../shared/logger.ts";
import { featureNames, type PipelineDefinition, pipelineTopics } from "../shared/pipeline/definition.ts";
import { type FeaturesRecord, scoredSchema } from "../shared/pipeline/records.ts";
import { setUpPipeline } from "../shared/pipeline/setup.ts";
import { projectRoot } from "../shared/project.ts";
import type { InferenceMetrics } from "./metrics.ts";
import { createModelStore, type ModelStore } from "./model-store.ts";
import { scoreRecords } from "./scoring.ts";

export interface PipelineScorer {
  definition: PipelineDefinition;
  store: ModelStore;
  processor: TransactionalProcessor | undefined;
}

export interface InferenceService {
  start(): Promise<void>;
  stop(): Promise<void>;
  notReadyReason(): string | undefined;
  scorer(pipeline: string): PipelineScorer | undefined;
  /** Checks every pipeline's model folder for a newer version now. */
  refreshModels(): Promise<void>;
}

export function createInferenceService(deps: {
  kafka: Kafka;
  registry: SchemaRegistryClient;
  logger: Logger;
  metrics: InferenceMetrics;
  pipelines: PipelineDefinition[];
  batchSize: number;
  maxTransactionRecords: number;
  /** Test only: share of transactions aborted on purpose (CHAOS_ABORT_SHARE). */
  testAbortShare?: number;
  lingerMs: number;
  concurrency: number;
  /** The exactly-once path's Kafka client (INFERENCE_KAFKA_CLIENT); librdkafka when not given. */
  kafkaClient?: EosClient;
  threads: number;
  modelPollSeconds: number;
  modelsRoot?: string;
  groupPrefix?: string;
  now?: () => number;
}): InferenceService {
  const now = deps.now ?? Date.now;
  const scorers = new Map<string, PipelineScorer>();
  let poller: NodeJS.Timeout | undefined;
  let starting = true;

  function recordModel(scorer: PipelineScorer): void {
    const model = scorer.store.current;
    if (!model) return;
    deps.metrics.modelInfo.reset();
    for (const s of scorers.values()) {
      const m = s.store.current;
      if (m)
        deps.metrics.modelInfo.set(
          { pipeline: s.definition.name, model: m.manifest.name, version: String(m.manifest.version) },
          1,
        );
    }
  }

  async function startPipeline(definition: PipelineDefinition): Promise<void> {
    const pipeline = definition.name;
    const topics = pipelineTopics(pipeline);
    const log = deps.logger.child({ module: "inference", pipeline });
    const store = createModelStore(join(deps.modelsRoot ?? projectRoot, definition.model.directory), log, {
      threads: deps.threads,
    });
    const scorer: PipelineScorer = { definition, store, processor: undefined };
    scorers.set(pipeline, scorer);
    await store.refresh();
    recordModel(scorer);
    const ids = await setUpPipeline(deps.kafka, deps.registry, definition);
    const codec: AvroCodec = createAvroCodec(deps.registry.resolve);
    const scoredType = parseAvroSchema(scoredSchema());
    const names = featureNames(definition);

    scorer.processor = createTransactionalProcessor({
      kafka: deps.kafka,
      logger: log,
      service: `streamscore-inference-${pipeline}`,
      groupId: `${deps.groupPrefix ?? "streamscore-inference"}-${pipeline}`,
      inputTopic: topics.features,
      maxBatchRecords: deps.maxTransactionRecords,
      testAbortShare: deps.testAbortShare,
      partitionsConsumedConcurrently: deps.concurrency,
      maxWaitTimeMs: deps.lingerMs,
      client: deps.kafkaClient ?? "librdkafka",
      async process(partition, messages) {
        deps.metrics.recordsIn.inc({ pipeline, topic: topics.features }, messages.length);
        // The model a chunk starts with scores all of it, so a swap never splits a transaction.
        const model = store.current;
        if (!model) throw new Error(`no model for ${pipeline}: ${store.problem}`);
        await codec.prepare(messages.map((m) => m.value));
        const dlq: Message[] = [];
        const records: FeaturesRecord[] = [];
        const sources: number[] = [];
        const rejectUndecodable = (message: KafkaMessage, error: unknown) => {
          dlq.push(deadLetter(message, { topic: topics.features, partition, offset: message.offset }, "decode", error));
          deps.metrics.deadLettered.inc({ pipeline, stage: "decode", code: errorCode(error) });
        };
        messages.forEach((message, i) => {
          const decoded = decodeOrDeadLetter(
            message,
            (m) => codec.decode(m.value).record as FeaturesRecord,
            rejectUndecodable,
          );
          if (!decoded.ok) return;
          records.push(decoded.value);
          sources.push(i);
        });
        const startedAt = performance.now();
        const { scored, failures } = await scoreRecords(
          model,
          pipeline,
          names,
          records,
          deps.batchSize,
          now,
          (seconds, rows, runs) => {
            deps.metrics.modelSeconds.observe({ pipeline }, seconds);
            deps.metrics.modelRows.inc({ pipeline }, rows);
            deps.metrics.modelRuns.inc({ pipeline }, runs);
          },
        );
        deps.metrics.scoreSeconds.observe({ pipeline }, (performance.now() - startedAt) / 1000);
        for (const failure of failures) {
          const message = messages[sources[failure.index] as number];
          if (!message) continue;
          dlq.push(
            deadLetter(message, { topic: topics.features, partition, offset: message.offset }, "score", failure.error),
          );
          deps.metrics.deadLettered.inc({ pipeline, stage: "score", code: failure.error.code });
        }
        const out: Message[] = scored.map(({ record }) => {
          deps.metrics.endToEndSeconds.observe(
            { pipeline },
            Math.max(0, record.score_time - record.ingest_time) / 1000,
          );
          // The input's partition: each scored partition is fed by one raw partition, in its order.
          return { key: record.entity, value: codec.encode(ids.scored, scoredType, record), partition };
        });
        deps.metrics.recordsOut.inc({ pipeline, topic: topics.scored }, out.length);
        return [
          { topic: topics.scored, messages: out },
          { topic: topics.dlq, messages: dlq },
        ];
      },
      onCommitted: ({ partition, records, seconds, lastOffset, highWatermark }) => {
        deps.metrics.batchSize.observe({ pipeline }, records);
        deps.metrics.batchSeconds.observe({ pipeline }, seconds);
        deps.metrics.consumerLag.set(
          { pipeline, topic: topics.features, partition: String(partition) },
          Math.max(0, Number(BigInt(highWatermark) - BigInt(lastOffset) - 1n)),
        );
      },
      onError: (error) => deps.metrics.errors.inc({ pipeline, code: errorCode(error) }),
    });
  }

  async function refreshModels(): Promise<void> {
    for (const scorer of scorers.values()) {
      const before = scorer.store.current?.manifest.version;
      await scorer.store.refresh();
      if (scorer.store.current?.manifest.version !== before) recordModel(scorer);
      // A pipeline waits for its first good model before it consumes anything.
      if (scorer.store.current && scorer.processor && !scorer.processor.ready && !starting) {
        await startProcessor(scorer);
      }
    }
  }

  const started = new Set<string>();
  async function startProcessor(scorer: PipelineScorer): Promise<void> {
    if (started.has(scorer.definition.name) || !scorer.processor || !scorer.store.current) return;
    started.add(scorer.definition.name);
    await scorer.processor.start();
  }

  return {
    async start() {
      for (const definition of deps.pipelines) await startPipeline(definition);
      starting = false;
      for (const scorer of scorers.values()) await startProcessor(scorer);
      poller = setInterval(() => void refreshModels(), deps.modelPollSeconds * 1000);
      poller.unref();
    },
    async stop() {
      if (poller) clearInterval(poller);
      await Promise.all(
        [...scorers.values()].map((s) => (started.has(s.definition.name) ? s.processor?.stop() : undefined)),
      );
      await Promise.all([...scorers.values()].map((s) => s.store.close()));
    },
    notReadyReason() {
      if (starting) return "starting";
      for (const scorer of scorers.values()) {
        if (!scorer.store.current) return `${scorer.definition.name}: ${scorer.store.problem}`;
        const trouble = scorer.processor?.trouble;
        if (trouble) return `${scorer.definition.name}: ${trouble}`;
        if (!scorer.processor?.ready) return `${scorer.definition.name}: waiting for partitions`;
      }
      return undefined;
    },
    scorer: (pipeline) => scorers.get(pipeline),
    refreshModels,
  };
}
