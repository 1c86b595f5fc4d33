// Per pipeline: scored events → `predictions`, dead letters → `dead_letters`.

import type { ClickHouse } from "../shared/clickhouse/client.ts";
import { checkSchema } from "../shared/clickhouse/migrations.ts";
import { encodeRows, type RowBinaryTable } from "../shared/clickhouse/row-binary.ts";
import { errorCode } from "../shared/errors.ts";
import { createAvroCodec } from "../shared/kafka/avro-codec.ts";
import type { Kafka, KafkaMessage, Message, Producer } from "../shared/kafka/client.ts";
import { deadLetter, decodeOrDeadLetter } from "../shared/kafka/dead-letter.ts";
import type { SchemaRegistryClient } from "../shared/kafka/registry.ts";
import type { Logger } from "../shared/logger.ts";
import { featureNames, type PipelineDefinition, pipelineTopics } from "../shared/pipeline/definition.ts";
import type { ScoredRecord } from "../shared/pipeline/records.ts";
import { setUpPipeline } from "../shared/pipeline/setup.ts";
import { createDriftMonitor, type DriftMonitor } from "./drift-monitor.ts";
import type { MonitorMetrics } from "./metrics.ts";
import { createQualityJob, type QualityJob } from "./quality-job.ts";
import {
  deadLetterRow,
  deadLettersTable,
  type LabelRecord,
  labelRow,
  labelsTable,
  type PredictionRow,
  predictionRow,
  predictionsTable,
} from "./rows.ts";
import { createSink, type Sink, type SinkRows } from "./sink.ts";

export interface MonitorService {
  start(): Promise<void>;
  stop(): Promise<void>;
  notReadyReason(): string | undefined;
  /** Per pipeline, in start order: lets callers (and tests) run a quality pass now. */
  qualityJobs(): QualityJob[];
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
  modelsRoot: string;
  quality: { intervalSeconds: number; lookbackHours: number; labelTimeoutSeconds: number };
  groupPrefix?: string;
}): MonitorService {
  const sinks: Array<{ name: string; sink: Sink }> = [];
  const driftMonitors: Array<{ name: string; drift: DriftMonitor }> = [];
  const qualityJobs: QualityJob[] = [];
  let started = false;

  /**
   * Rows from Avro records of a topic; a record that cannot be decoded or turned into a row is
   * dead-lettered (in the transaction that commits the batch's offsets) instead of stopping it.
   */
  function decodedRows<T, Row extends object>(
    pipeline: string,
    sourceTopic: string,
    stage: string,
    table: RowBinaryTable<Row>,
    toRow: (record: T, partition: number, offset: string, nowMs: number) => Row,
  ): (partition: number, messages: KafkaMessage[]) => Promise<SinkRows<Row>> {
    const codec = createAvroCodec(deps.registry.resolve);
    return async (partition, messages) => {
      await codec.prepare(messages.map((m) => m.value));
      const nowMs = Date.now();
      const rows: Row[] = [];
      const sources: KafkaMessage[] = [];
      const poison: Message[] = [];
      const reject = (message: KafkaMessage, error: unknown) => {
        poison.push(deadLetter(message, { topic: sourceTopic, partition, offset: message.offset }, stage, error));
        deps.metrics.deadLettered.inc({ pipeline, stage, code: errorCode(error) });
      };
      for (const message of messages) {
        const decoded = decodeOrDeadLetter(
          message,
          (m) => toRow(codec.decode(m.value).record as T, partition, m.offset, nowMs),
          reject,
        );
        if (!decoded.ok) continue;
        rows.push(decoded.value);
        sources.push(message);
      }
      const invalid = new Set<number>();
      const encoded = encodeRows(table, rows, (index, error) => {
        invalid.add(index);
        reject(sources[index] as KafkaMessage, error);
      });
      return { rows: invalid.size > 0 ? rows.filter((_, i) => !invalid.has(i)) : rows, encoded, deadLetters: poison };
    };
  }

  function predictionsSink(definition: PipelineDefinition, drift: DriftMonitor): Sink {
    const pipeline = definition.name;
    const topics = pipelineTopics(pipeline);
    const names = featureNames(definition);
    const table = `${deps.database}.predictions`;
    return createSink({
      kafka: deps.kafka,
      clickhouse: deps.clickhouse,
      logger: deps.logger.child({ pipeline }),
      groupId: `${deps.groupPrefix ?? "streamscore-monitor"}-${pipeline}-predictions`,
      topic: topics.scored,
      deadLetterTopic: topics.dlq,
      table,
      storedOffsetsQuery: `SELECT source_partition AS partition, toString(max(source_offset)) AS offset FROM ${table} WHERE pipeline = '${pipeline}' GROUP BY source_partition`,
      maxBackoffMs: deps.maxBackoffMs,
      toRows: decodedRows<ScoredRecord, PredictionRow>(
        pipeline,
        topics.scored,
        "sink",
        predictionsTable,
        (record, partition, offset, nowMs) => predictionRow(record, names, partition, offset, nowMs),
      ),
      onAssigned: (partitions) => drift.assign(partitions),
      onStored: (partition, rows, caughtUp) => drift.observe(partition, rows, caughtUp),
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
      toRows: async (partition, messages) => {
        const nowMs = Date.now();
        const rows = messages.map((m) => deadLetterRow(pipeline, m, partition, nowMs));
        return { rows, encoded: encodeRows(deadLettersTable, rows) };
      },
      onInserted: (_partition, rows) => deps.metrics.rowsInserted.inc({ pipeline, table: "dead_letters" }, rows),
      onRetry: () => deps.metrics.insertRetries.inc({ pipeline, table: "dead_letters" }),
    });
  }

  function labelsSink(definition: PipelineDefinition): Sink {
    const pipeline = definition.name;
    const topics = pipelineTopics(pipeline);
    const table = `${deps.database}.labels`;
    return createSink({
      kafka: deps.kafka,
      clickhouse: deps.clickhouse,
      logger: deps.logger.child({ pipeline }),
      groupId: `${deps.groupPrefix ?? "streamscore-monitor"}-${pipeline}-labels`,
      topic: topics.labels,
      deadLetterTopic: topics.dlq,
      table,
      storedOffsetsQuery: `SELECT source_partition AS partition, toString(max(source_offset)) AS offset FROM ${table} WHERE pipeline = '${pipeline}' GROUP BY source_partition`,
      maxBackoffMs: deps.maxBackoffMs,
      toRows: decodedRows(pipeline, topics.labels, "labels", labelsTable, (label: LabelRecord, partition, offset) =>
        labelRow(pipeline, label, partition, offset),
      ),
      onInserted: (_partition, rows) => deps.metrics.rowsInserted.inc({ pipeline, table: "labels" }, rows),
      onRetry: () => deps.metrics.insertRetries.inc({ pipeline, table: "labels" }),
    });
  }

  return {
    async start() {
      await checkSchema(deps.clickhouse, deps.database);
      for (const definition of deps.pipelines) {
        await setUpPipeline(deps.kafka, deps.registry, definition);
        const drift = createDriftMonitor({ ...deps, definition, logger: deps.logger, modelsRoot: deps.modelsRoot });
        driftMonitors.push({ name: definition.name, drift });
        // The predictions sink joins its group last, so that it is fetching when start() returns.
        for (const sink of [deadLettersSink(definition), labelsSink(definition), predictionsSink(definition, drift)]) {
          await sink.start();
          sinks.push({ name: definition.name, sink });
        }
        const job = createQualityJob({
          clickhouse: deps.clickhouse,
          database: deps.database,
          definition,
          modelsRoot: deps.modelsRoot,
          logger: deps.logger,
          metrics: deps.metrics,
          lookbackHours: deps.quality.lookbackHours,
          labelTimeoutSeconds: deps.quality.labelTimeoutSeconds,
        });
        job.start(deps.quality.intervalSeconds * 1000);
        qualityJobs.push(job);
      }
      started = true;
    },
    async stop() {
      for (const job of qualityJobs) job.stop();
      await Promise.all(sinks.map(({ sink }) => sink.stop()));
      // Windows closed by the last batches are stored before the clients close.
      await Promise.all(driftMonitors.map(({ drift }) => drift.settle()));
    },
    qualityJobs: () => qualityJobs,
    notReadyReason() {
      if (!started) return "starting";
      const failing = [
        ...sinks.map(({ name, sink }) => ({ name, error: sink.lastError })),
        ...driftMonitors.map(({ name, drift }) => ({ name, error: drift.lastError })),
      ].find(({ error }) => error !== undefined);
      return failing ? `${failing.name}: ${failing.error}` : undefined;
    },
  };
}
