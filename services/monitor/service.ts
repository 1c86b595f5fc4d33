// Per pipeline: scored events → `predictions`, dead letters → `dead_letters`.
import { createAvroCodec } from "../shared/kafka/avro-codec.ts";
import type { Kafka, Message, Producer } from "../shared/kafka/client.ts";
import { deadLetter } from "../shared/kafka/dead-letter.ts";
import type { SchemaRegistryClient } from "../shared/kafka/registry.ts";
import type { Logger } from "../shared/logger.ts";
import { featureNames, type PipelineDefinition, pipelineTopics } from "../shared/pipeline/definition.ts";
import type { ScoredRecord } from "../shared/pipeline/records.ts";
import { setUpPipeline } from "../shared/pipeline/setup.ts";
import type { ClickHouse } from "./clickhouse.ts";
import type { MonitorMetrics } from "./metrics.ts";
import { migrate } from "./migrations.ts";
import { deadLetterRow, predictionRow } from "./rows.ts";
import { createSink, type Sink } from "./sink.ts";

export interface MonitorService {
  start(): Promise<void>;
  stop(): Promise<void>;
  notReadyReason(): string | undefined;
}

export function createMonitorService(deps: {
  kafka: Kafka;
  registry: SchemaRegistryClient;
  clickhouse: ClickHouse;
  producer: Producer;
  database: string;
  logger: Logger;
  metrics: MonitorMetrics;
  pipelines: PipelineDefinition[];
  maxBackoffMs: number;
  groupPrefix?: string;
}): MonitorService {
  const sinks: Array<{ name: string; sink: Sink }> = [];
  let started = false;

  function predictionsSink(definition: PipelineDefinition): Sink {
    const pipeline = definition.name;
    const topics = pipelineTopics(pipeline);
    const names = featureNames(definition);
    const codec = createAvroCodec(deps.registry.resolve);
    const table = `${deps.database}.predictions`;
    return createSink({
      kafka: deps.kafka,
      clickhouse: deps.clickhouse,
      logger: deps.logger.child({ pipeline }),
      groupId: `${deps.groupPrefix ?? "streamscore-monitor"}-${pipeline}-predictions`,
      topic: topics.scored,
      table,
      storedOffsetsQuery: `SELECT source_partition AS partition, toString(max(source_offset)) AS offset FROM ${table} WHERE pipeline = '${pipeline}' GROUP BY source_partition`,
      maxBackoffMs: deps.maxBackoffMs,
      async toRows(partition, messages) {
        await codec.prepare(messages.map((m) => m.value));
        const rows: object[] = [];
        const poison: Message[] = [];
        for (const message of messages) {
          try {
            const record = codec.decode(message.value).record as ScoredRecord;
            rows.push(predictionRow(record, names, partition, message.offset, Date.now()));
          } catch (error) {
            poison.push(
              deadLetter(message, { topic: topics.scored, partition, offset: message.offset }, "sink", error),
            );
            deps.metrics.deadLettered.inc({
              pipeline,
              stage: "sink",
              code: (error as { code?: string }).code ?? "UNEXPECTED",
            });
          }
        }
        // Dead letters are acknowledged before the batch's offsets are committed.
        if (poison.length > 0) await deps.producer.send({ topic: topics.dlq, messages: poison, acks: -1 });
        return rows;
      },
      onInserted: (partition, rows, seconds, lag) => {
        deps.metrics.rowsInserted.inc({ pipeline, table: "predictions" }, rows);
        deps.metrics.insertSeconds.observe({ pipeline, table: "predictions" }, seconds);
        deps.metrics.consumerLag.set({ pipeline, topic: topics.scored, partition: String(partition) }, lag);
      },
      onRetry: () => deps.metrics.insertRetries.inc({ pipeline, table: "predictions" }),
    });
  }

  function deadLettersSink(definition: PipelineDefinition): Sink {
    const pipeline = definition.name;
    const topics = pipelineTopics(pipeline);
    const table = `${deps.database}.dead_letters`;
    return createSink({
      kafka: deps.kafka,
      clickhouse: deps.clickhouse,
      logger: deps.logger.child({ pipeline }),
      groupId: `${deps.groupPrefix ?? "streamscore-monitor"}-${pipeline}-dead-letters`,
      topic: topics.dlq,
      table,
      storedOffsetsQuery: `SELECT dlq_partition AS partition, toString(max(dlq_offset)) AS offset FROM ${table} WHERE pipeline = '${pipeline}' GROUP BY dlq_partition`,
      maxBackoffMs: deps.maxBackoffMs,
      toRows: async (partition, messages) => messages.map((m) => deadLetterRow(pipeline, m, partition, Date.now())),
      onInserted: (_partition, rows) => deps.metrics.rowsInserted.inc({ pipeline, table: "dead_letters" }, rows),
      onRetry: () => deps.metrics.insertRetries.inc({ pipeline, table: "dead_letters" }),
    });
  }

  return {
    async start() {
      await migrate(deps.clickhouse, deps.database);
      for (const definition of deps.pipelines) {
        await setUpPipeline(deps.kafka, deps.registry, definition);
        for (const sink of [predictionsSink(definition), deadLettersSink(definition)]) {
          await sink.start();
          sinks.push({ name: definition.name, sink });
        }
      }
      started = true;
    },
    async stop() {
      await Promise.all(sinks.map(({ sink }) => sink.stop()));
    },
    notReadyReason() {
      if (!started) return "starting";
      const failing = sinks.find(({ sink }) => sink.lastError !== undefined);
      return failing ? `${failing.name}: ${failing.sink.lastError}` : undefined;
    },
  };
}
