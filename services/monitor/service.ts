// Per pipeline: scored events → `predictions`, dead letters → `dead_letters`, labels → `labels`,
// the model registry's events → `model_events` (the audit trail).

import type { ClickHouse } from "../shared/clickhouse/client.ts";
import { checkSchema } from "../shared/clickhouse/migrations.ts";
import { encodeRows, type RowBinaryTable } from "../shared/clickhouse/row-binary.ts";
import { errorCode, StreamscoreError } from "../shared/errors.ts";
import { createAvroCodec } from "../shared/kafka/avro-codec.ts";
import type { Kafka, KafkaMessage, Message, Producer } from "../shared/kafka/client.ts";
import { deadLetter, decodeOrDeadLetter } from "../shared/kafka/dead-letter.ts";
import { createModelLogWriter, parseModelEvent, readModelEvents } from "../shared/kafka/model-log.ts";
import type { SchemaRegistryClient } from "../shared/kafka/registry.ts";
import type { Logger } from "../shared/logger.ts";
import { featureNames, type PipelineDefinition, pipelineTopics } from "../shared/pipeline/definition.ts";
import type { ScoredRecord } from "../shared/pipeline/records.ts";
import { setUpPipeline } from "../shared/pipeline/setup.ts";
import { createDriftMonitor, type DriftMonitor } from "./drift-monitor.ts";
import type { MonitorMetrics } from "./metrics.ts";
import { createPromotionWatch } from "./promotion.ts";
import { createQualityJob, type QualityJob } from "./quality-job.ts";
import { createRetrainingTrigger } from "./retraining-trigger.ts";
import {
  type DeadLetterRow,
  deadLetterRow,
  deadLettersTable,
  type LabelRecord,
  type LabelRow,
  labelRow,
  labelsTable,
  type ModelEventRow,
  modelEventRow,
  modelEventsTable,
  type PredictionRow,
  predictionRow,
  predictionsTable,
  type ShadowPredictionRow,
  shadowPredictionRow,
  shadowPredictionsTable,
} from "./rows.ts";
import { createSink, type Sink, type SinkOptions, type SinkRows } from "./sink.ts";
import type { TrainerRunner } from "./trainer-runner.ts";

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
  /** Starts the trainer when the retraining policy fires (MONITOR_RETRAIN_COMMAND); without it the request is only logged. */
  trainer?: TrainerRunner;
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

  /**
   * A sink of one of the pipeline's topics into one table: the sinks differ only in these fields.
   * Rows carry their source position in `partitionColumn`/`offsetColumn`, which is how a restart
   * skips what is already stored.
   */
  function tableSink<Row>(
    definition: PipelineDefinition,
    spec: {
      table: "predictions" | "dead_letters" | "labels" | "model_events" | "shadow_predictions";
      /** The consumer group's last word (default: the table's name); unique across the monitor's sinks. */
      group?: string;
      topic: string;
      partitionColumn: string;
      offsetColumn: string;
      /** Whether records that cannot become rows are dead-lettered (not for the DLQ's own sink). */
      deadLetters: boolean;
      toRows: SinkOptions<Row>["toRows"];
      /** For the predictions sink, on the hot path: hands rows to drift monitoring, reports time and lag. */
      drift?: Pick<SinkOptions<Row>, "onAssigned" | "onStored">;
    },
  ): Sink {
    const pipeline = definition.name;
    const topics = pipelineTopics(pipeline);
    const table = `${deps.database}.${spec.table}`;
    const groupSuffix = spec.group ?? spec.table.replaceAll("_", "-");
    const { drift } = spec;
    return createSink<Row>({
      kafka: deps.kafka,
      clickhouse: deps.clickhouse,
      logger: deps.logger.child({ pipeline }),
      groupId: `${deps.groupPrefix ?? "streamscore-monitor"}-${pipeline}-${groupSuffix}`,
      topic: spec.topic,
      deadLetterTopic: spec.deadLetters ? topics.dlq : undefined,
      table,
      storedOffsetsQuery: `SELECT ${spec.partitionColumn} AS partition, toString(max(${spec.offsetColumn})) AS offset FROM ${table} WHERE pipeline = '${pipeline}' GROUP BY ${spec.partitionColumn}`,
      maxBackoffMs: deps.maxBackoffMs,
      toRows: spec.toRows,
      ...drift,
      onInserted: (partition, rows, seconds, lag) => {
        deps.metrics.rowsInserted.inc({ pipeline, table: spec.table }, rows);
        if (!drift) return;
        deps.metrics.insertSeconds.observe({ pipeline, table: spec.table }, seconds);
        deps.metrics.consumerLag.set({ pipeline, topic: spec.topic, partition: String(partition) }, lag);
      },
      onRetry: () => deps.metrics.insertRetries.inc({ pipeline, table: spec.table }),
    });
  }

  function sinksOf(definition: PipelineDefinition, drift: DriftMonitor, shadowDrift: DriftMonitor): Sink[] {
    const pipeline = definition.name;
    const topics = pipelineTopics(pipeline);
    const names = featureNames(definition);
    const bySource = { partitionColumn: "source_partition", offsetColumn: "source_offset", deadLetters: true };
    // The predictions sink joins its group last, so that it is fetching when start() returns.
    return [
      tableSink<DeadLetterRow>(definition, {
        table: "dead_letters",
        topic: topics.dlq,
        partitionColumn: "dlq_partition",
        offsetColumn: "dlq_offset",
        deadLetters: false,
        toRows: async (partition, messages) => {
          const nowMs = Date.now();
          const rows = messages.map((m) => deadLetterRow(pipeline, m, partition, nowMs));
          return { rows, encoded: encodeRows(deadLettersTable, rows) };
        },
      }),
      tableSink<ModelEventRow>(definition, {
        table: "model_events",
        topic: topics.modelEvents,
        ...bySource,
        toRows: async (partition, messages) => {
          const rows: ModelEventRow[] = [];
          const deadLetters: Message[] = [];
          for (const message of messages) {
            const event = parseModelEvent(message);
            if (event) rows.push(modelEventRow(event, partition, message.offset));
            else {
              const error = new StreamscoreError(
                "MODEL_EVENT_INVALID",
                "not a model registry event (JSON, lifecycle.ts)",
              );
              deadLetters.push(
                deadLetter(message, { topic: topics.modelEvents, partition, offset: message.offset }, "audit", error),
              );
              deps.metrics.deadLettered.inc({ pipeline, stage: "audit", code: error.code });
            }
          }
          return { rows, encoded: encodeRows(modelEventsTable, rows), deadLetters };
        },
      }),
      tableSink<LabelRow>(definition, {
        table: "labels",
        topic: topics.labels,
        ...bySource,
        toRows: decodedRows(pipeline, topics.labels, "labels", labelsTable, (label: LabelRecord, partition, offset) =>
          labelRow(pipeline, label, partition, offset),
        ),
      }),
      tableSink<ShadowPredictionRow>(definition, {
        table: "shadow_predictions",
        // Not "shadow-predictions": pipeline p's group would then equal pipeline "p-shadow"'s predictions group.
        group: "shadows",
        topic: topics.shadowScored,
        ...bySource,
        toRows: decodedRows<ScoredRecord, ShadowPredictionRow>(
          pipeline,
          topics.shadowScored,
          "sink",
          shadowPredictionsTable,
          shadowPredictionRow,
        ),
        // A shadow's own windows: its prediction against its own reference (the inputs are the deciding rows').
        drift: {
          onAssigned: (partitions, all) => shadowDrift.assign(partitions, all),
          onStored: (partition, rows, caughtUp) =>
            shadowDrift.observe(
              partition,
              rows.map((r) => ({ ...r, feature_values: [] })),
              caughtUp,
            ),
        },
      }),
      tableSink<PredictionRow>(definition, {
        table: "predictions",
        topic: topics.scored,
        ...bySource,
        toRows: decodedRows<ScoredRecord, PredictionRow>(
          pipeline,
          topics.scored,
          "sink",
          predictionsTable,
          (record, partition, offset, nowMs) => predictionRow(record, names, partition, offset, nowMs),
        ),
        drift: {
          onAssigned: (partitions, all) => drift.assign(partitions, all),
          onStored: (partition, rows, caughtUp) => drift.observe(partition, rows, caughtUp),
        },
      }),
    ];
  }

  return {
    async start() {
      await checkSchema(deps.clickhouse, deps.database);
      for (const definition of deps.pipelines) {
        await setUpPipeline(deps.kafka, deps.registry, definition);
        const retraining = definition.retraining
          ? createRetrainingTrigger({
              pipeline: definition.name,
              policy: definition.retraining,
              writer: createModelLogWriter(deps.kafka, definition.name, deps.logger),
              clickhouse: deps.clickhouse,
              database: deps.database,
              logger: deps.logger,
              warmUpMs:
                Math.max(0, ...definition.features.map((f) => ("windowSeconds" in f ? f.windowSeconds : 0))) * 1000,
              onRequested: deps.trainer
                ? (_version, reason) => void deps.trainer?.request(definition.name, reason)
                : undefined,
            })
          : undefined;
        await retraining?.start();
        const promotion = definition.retraining
          ? createPromotionWatch({
              pipeline: definition.name,
              policy: definition.retraining,
              writer: createModelLogWriter(deps.kafka, definition.name, deps.logger),
              readEvents: () => readModelEvents(deps.kafka, definition.name),
              logger: deps.logger,
            })
          : undefined;
        const drift = createDriftMonitor({
          ...deps,
          definition,
          logger: deps.logger,
          modelsRoot: deps.modelsRoot,
          onWindowClosed: retraining
            ? (version, window) => retraining.windowClosed(version, { ...window, quality: {} })
            : undefined,
        });
        const shadowDrift = createDriftMonitor({
          ...deps,
          definition,
          logger: deps.logger,
          modelsRoot: deps.modelsRoot,
          role: "shadow",
        });
        driftMonitors.push(
          { name: definition.name, drift },
          { name: `${definition.name} (shadows)`, drift: shadowDrift },
        );
        for (const sink of sinksOf(definition, drift, shadowDrift)) {
          // Listed before it starts: a stop after a start that failed half way closes what it opened.
          sinks.push({ name: definition.name, sink });
          await sink.start();
        }
        const job = createQualityJob({
          onQuality: retraining ? (version, windows) => retraining.qualityMeasured(version, windows) : undefined,
          onQualityRun: promotion ? (byVersion) => promotion.qualityMeasured(byVersion) : undefined,
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
      for (const { drift } of driftMonitors) drift.stop();
      await Promise.all(driftMonitors.map(({ drift }) => drift.settle()));
      await deps.trainer?.stop();
    },
    qualityJobs: () => qualityJobs,
    notReadyReason() {
      if (!started) return "starting";
      const failing = [
        ...sinks.map(({ name, sink }) => ({ name, error: sink.lastError ?? sink.trouble })),
        ...driftMonitors.map(({ name, drift }) => ({ name, error: drift.lastError })),
      ].find(({ error }) => error !== undefined);
      return failing ? `${failing.name}: ${failing.error}` : undefined;
    },
  };
}
