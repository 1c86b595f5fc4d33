// Wires, per pipeline, the models serving it (champion, canary, shadows: the registry's deployment,
// followed on the model log) and a transactional processor: features in, decisions out on
// <p>.scored, shadow scores on <p>.shadow-scored.
import { join } from "node:path";
import { errorCode } from "../shared/errors.ts";
import { type AvroCodec, createAvroCodec, parseAvroSchema } from "../shared/kafka/avro-codec.ts";
import type { Kafka, KafkaMessage, Message } from "../shared/kafka/client.ts";
import { deadLetter, decodeOrDeadLetter } from "../shared/kafka/dead-letter.ts";
import type { EosClient } from "../shared/kafka/eos-client.ts";
import { type ModelLogWatcher, watchModelLog } from "../shared/kafka/model-log.ts";
import type { SchemaRegistryClient } from "../shared/kafka/registry.ts";
import { createTransactionalProcessor, type TransactionalProcessor } from "../shared/kafka/transactional-processor.ts";
import type { Logger } from "../shared/logger.ts";
import { featureNames, type PipelineDefinition, pipelineTopics } from "../shared/pipeline/definition.ts";
import { type FeaturesRecord, type ScoredRecord, scoredSchema } from "../shared/pipeline/records.ts";
import { setUpPipeline } from "../shared/pipeline/setup.ts";
import { projectRoot } from "../shared/project.ts";
import type { InferenceMetrics } from "./metrics.ts";
import { loadModel } from "./model.ts";
import { createModelStore, type ModelStore } from "./model-store.ts";
import { type ScoringFailure, scoreRecords } from "./scoring.ts";
import { createServingRoles, decidingRoles, type ServingRoles } from "./serving.ts";

export interface PipelineScorer {
  definition: PipelineDefinition;
  /** The pipeline's model folder: one numbered subfolder per version. */
  modelDir: string;
  /** The newest version folder that loads: the champion while the registry names none. */
  store: ModelStore;
  /** The models in use by role. */
  roles: ServingRoles;
  /** Follows the registry's log; undefined until the pipeline's topics exist. */
  watcher: ModelLogWatcher | undefined;
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

  function recordModels(): void {
    deps.metrics.modelInfo.reset();
    for (const s of scorers.values()) {
      const name = s.roles.current?.champion.manifest.name ?? s.definition.model.name;
      for (const { version, role } of s.roles.roles()) {
        deps.metrics.modelInfo.set({ pipeline: s.definition.name, model: name, version: String(version), role }, 1);
      }
    }
  }

  async function startPipeline(definition: PipelineDefinition): Promise<void> {
    const pipeline = definition.name;
    const topics = pipelineTopics(pipeline);
    const log = deps.logger.child({ module: "inference", pipeline });
    const modelDir = join(deps.modelsRoot ?? projectRoot, definition.model.directory);
    const store = createModelStore(modelDir, log, { threads: deps.threads });
    const roles = createServingRoles({
      modelDir,
      fallback: store,
      load: (versionDir) => loadModel(versionDir, { threads: deps.threads }),
      logger: log,
    });
    const scorer: PipelineScorer = { definition, modelDir, store, roles, watcher: undefined, processor: undefined };
    scorers.set(pipeline, scorer);
    await store.refresh();
    const ids = await setUpPipeline(deps.kafka, deps.registry, definition);
    // Every instance folds the same log, so all serve the same deployment, also after a restart.
    scorer.watcher = watchModelLog(deps.kafka, pipeline, log, (deployment) => {
      void roles.update(deployment).then(recordModels);
    });
    await scorer.watcher.start();
    await roles.update(scorer.watcher.deployment);
    roles.takePending();
    recordModels();
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
      // A new deployment (promote, rollback, canary weight, shadows) applies to whole transactions.
      betweenTransactions: () => roles.takePending(),
      async process(partition, messages) {
        deps.metrics.recordsIn.inc({ pipeline, topic: topics.features }, messages.length);
        const serving = roles.current;
        if (!serving) throw new Error(`no model for ${pipeline}: ${roles.problem ?? store.problem}`);
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
        const onRuns = (seconds: number, rows: number, runs: number) => {
          deps.metrics.modelSeconds.observe({ pipeline }, seconds);
          deps.metrics.modelRows.inc({ pipeline }, rows);
          deps.metrics.modelRuns.inc({ pipeline }, runs);
        };
        // The deciding model of each record (champion, or the canary for its share of entities);
        // decisions keep the input's order, which the monitor's event-time watermark relies on.
        const deciding = decidingRoles(
          records.map((r) => r.entity),
          serving,
        );
        const decisions: Array<ScoredRecord | undefined> = new Array(records.length);
        const failures: ScoringFailure[] = [];
        for (const [role, model] of [
          ["champion", serving.champion],
          ["canary", serving.canary?.model],
        ] as const) {
          if (!model) continue;
          const indices = deciding.flatMap((r, i) => (r === role ? [i] : []));
          if (indices.length === 0) continue;
          const subset = indices.map((i) => records[i] as FeaturesRecord);
          const result = await scoreRecords(model, pipeline, names, subset, deps.batchSize, now, onRuns, role);
          for (const { index, record } of result.scored) decisions[indices[index] as number] = record;
          for (const failure of result.failures) failures.push({ ...failure, index: indices[failure.index] as number });
        }
        // Shadows score every record and decide nothing; a record a shadow cannot score is counted,
        // not dead-lettered: the deciding model's outcome is what the record's fate depends on.
        const shadowOut: Message[] = [];
        for (const shadow of serving.shadows) {
          const result = await scoreRecords(shadow, pipeline, names, records, deps.batchSize, now, undefined, "shadow");
          for (const { record } of result.scored) {
            shadowOut.push({
              key: record.entity,
              value: codec.encode(ids.shadowScored, scoredType, record),
              partition,
            });
          }
          for (const failure of result.failures) deps.metrics.errors.inc({ pipeline, code: failure.error.code });
        }
        deps.metrics.scoreSeconds.observe({ pipeline }, (performance.now() - startedAt) / 1000);
        for (const failure of failures) {
          const message = messages[sources[failure.index] as number];
          if (!message) continue;
          dlq.push(
            deadLetter(message, { topic: topics.features, partition, offset: message.offset }, "score", failure.error),
          );
          deps.metrics.deadLettered.inc({ pipeline, stage: "score", code: failure.error.code });
        }
        const out: Message[] = [];
        for (const record of decisions) {
          if (!record) continue;
          deps.metrics.endToEndSeconds.observe(
            { pipeline },
            Math.max(0, record.score_time - record.ingest_time) / 1000,
          );
          // The input's partition: each scored partition is fed by one raw partition, in its order.
          out.push({ key: record.entity, value: codec.encode(ids.scored, scoredType, record), partition });
        }
        deps.metrics.recordsOut.inc({ pipeline, topic: topics.scored }, out.length);
        const outputs = [
          { topic: topics.scored, messages: out },
          { topic: topics.dlq, messages: dlq },
        ];
        if (shadowOut.length > 0) {
          deps.metrics.recordsOut.inc({ pipeline, topic: topics.shadowScored }, shadowOut.length);
          outputs.push({ topic: topics.shadowScored, messages: shadowOut });
        }
        return outputs;
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
      const fallbackChanged = scorer.store.current?.manifest.version !== before;
      if (fallbackChanged && scorer.watcher) await scorer.roles.update(scorer.watcher.deployment);
      // Nothing is consuming yet: the new set is in use at once.
      if (!started.has(scorer.definition.name)) scorer.roles.takePending();
      if (fallbackChanged) recordModels();
      // A pipeline waits for its first good model before it consumes anything.
      if (scorer.roles.current && scorer.processor && !starting) await startProcessor(scorer);
    }
  }

  const started = new Set<string>();
  async function startProcessor(scorer: PipelineScorer): Promise<void> {
    if (started.has(scorer.definition.name) || !scorer.processor || !scorer.roles.current) return;
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
      await Promise.all([...scorers.values()].map((s) => s.watcher?.stop()));
      await Promise.all([...scorers.values()].map((s) => Promise.all([s.roles.close(), s.store.close()])));
    },
    notReadyReason() {
      if (starting) return "starting";
      for (const scorer of scorers.values()) {
        if (!scorer.roles.current) {
          return `${scorer.definition.name}: ${scorer.roles.problem ?? scorer.store.problem}`;
        }
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
