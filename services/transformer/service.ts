// Wires one transactional processor per pipeline around its transformer.

import { errorCode } from "../shared/errors.ts";
import { createAvroCodec, parseAvroSchema } from "../shared/kafka/avro-codec.ts";
import type { Kafka } from "../shared/kafka/client.ts";
import type { EosClient } from "../shared/kafka/eos-client.ts";
import { readTopicToEnd } from "../shared/kafka/read-to-end.ts";
import type { SchemaRegistryClient } from "../shared/kafka/registry.ts";
import { createTransactionalProcessor, type TransactionalProcessor } from "../shared/kafka/transactional-processor.ts";
import type { Logger } from "../shared/logger.ts";
import { type PipelineDefinition, pipelineTopics } from "../shared/pipeline/definition.ts";
import { featuresSchema } from "../shared/pipeline/records.ts";
import { setUpPipeline } from "../shared/pipeline/setup.ts";
import { readSchema } from "../shared/schemas.ts";
import type { TransformerMetrics } from "./metrics.ts";
import { createPersonalData } from "./personal-data.ts";
import { createPipelineTransformer } from "./transformer.ts";

export interface TransformerService {
  start(): Promise<void>;
  stop(): Promise<void>;
  notReadyReason(): string | undefined;
}

export function createTransformerService(deps: {
  kafka: Kafka;
  registry: SchemaRegistryClient;
  logger: Logger;
  metrics: TransformerMetrics;
  pipelines: PipelineDefinition[];
  maxBatchRecords: number;
  /** Test only: share of transactions aborted on purpose (CHAOS_ABORT_SHARE). */
  testAbortShare?: number;
  concurrency: number;
  /** The exactly-once path's Kafka client (TRANSFORMER_KAFKA_CLIENT); librdkafka when not given. */
  kafkaClient?: EosClient;
  /** Consumer group; one per pipeline is derived from it. */
  groupPrefix?: string;
  now?: () => number;
  /** HMAC key for personal fields marked `hash` (PERSONAL_DATA_KEY_FILE). */
  personalDataKey?: string | Buffer;
}): TransformerService {
  // A pipeline that hashes personal fields without a key fails here, before anything connects.
  for (const definition of deps.pipelines) createPersonalData(definition, deps.personalDataKey);
  const processors: Array<{ name: string; processor: TransactionalProcessor }> = [];
  const now = deps.now ?? Date.now;

  async function startPipeline(definition: PipelineDefinition): Promise<void> {
    const pipeline = definition.name;
    const topics = pipelineTopics(pipeline);
    const ids = await setUpPipeline(deps.kafka, deps.registry, definition);
    // Raw records are read with the pipeline's schema whatever (compatible) version wrote them.
    const codec = createAvroCodec(deps.registry.resolve, { reader: parseAvroSchema(readSchema(definition.schema)) });
    const transformer = createPipelineTransformer({
      definition,
      codec,
      featuresType: parseAvroSchema(featuresSchema(definition)),
      featuresSchemaId: ids.features,
      now,
      personalDataKey: deps.personalDataKey,
      onStats: (stats) => {
        deps.metrics.duplicates.inc({ pipeline }, stats.duplicates);
        deps.metrics.recordsOut.inc({ pipeline, topic: topics.features }, stats.transformed);
        for (const { stage, code } of stats.deadLettered) deps.metrics.deadLettered.inc({ pipeline, stage, code });
      },
    });
    const log = deps.logger.child({ module: "transformer", pipeline });
    const processor = createTransactionalProcessor({
      kafka: deps.kafka,
      logger: log,
      service: `streamscore-transformer-${pipeline}`,
      groupId: `${deps.groupPrefix ?? "streamscore-transformer"}-${pipeline}`,
      inputTopic: topics.raw,
      maxBatchRecords: deps.maxBatchRecords,
      testAbortShare: deps.testAbortShare,
      partitionsConsumedConcurrently: deps.concurrency,
      client: deps.kafkaClient ?? "librdkafka",
      async process(partition, messages) {
        deps.metrics.recordsIn.inc({ pipeline, topic: topics.raw }, messages.length);
        // Schema lookups are the only I/O; after them a chunk is processed synchronously.
        await codec.prepare(messages.map((m) => m.value));
        return transformer.process(partition, messages);
      },
      async restore(partitions) {
        transformer.beginRestore(partitions);
        const count = await readTopicToEnd(
          deps.kafka,
          topics.transformerState,
          (partition, message) => transformer.restoreRecord(partition, message),
          { partitions },
        );
        deps.metrics.restoredRecords.inc({ pipeline }, count);
        deps.metrics.entities.set({ pipeline }, transformer.entityCount());
        log.info({ partitions, changelogRecords: count, entities: transformer.entityCount() }, "state restored");
      },
      dropState: (partition) => transformer.dropState(partition),
      onCommitted: ({ partition, records, seconds, lastOffset, highWatermark }) => {
        deps.metrics.batchSize.observe({ pipeline }, records);
        deps.metrics.batchSeconds.observe({ pipeline }, seconds);
        deps.metrics.consumerLag.set(
          { pipeline, topic: topics.raw, partition: String(partition) },
          Math.max(0, Number(BigInt(highWatermark) - BigInt(lastOffset) - 1n)),
        );
        deps.metrics.entities.set({ pipeline }, transformer.entityCount());
      },
      onError: (error) => deps.metrics.errors.inc({ pipeline, code: errorCode(error) }),
    });
    // Listed before it starts: a stop after a start that failed half way closes what it opened.
    processors.push({ name: pipeline, processor });
    await processor.start();
  }

  return {
    async start() {
      for (const definition of deps.pipelines) await startPipeline(definition);
    },
    async stop() {
      await Promise.all(processors.map(({ processor }) => processor.stop()));
    },
    notReadyReason() {
      if (processors.length < deps.pipelines.length) return "starting";
      const troubled = processors.find((p) => p.processor.trouble !== undefined);
      if (troubled) return `${troubled.name}: ${troubled.processor.trouble}`;
      const waiting = processors.filter((p) => !p.processor.ready).map((p) => p.name);
      return waiting.length > 0 ? `waiting for partitions or state restore: ${waiting.join(", ")}` : undefined;
    },
  };
}
