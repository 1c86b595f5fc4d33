// The model registry's log on Kafka: `<pipeline>.model-events`, one partition, kept forever, JSON
// values (schema: model/lifecycle.ts). Every inference instance folds the whole log into the same
// deployment, so the deployment is shared and survives restarts; the monitor stores each event in
// ClickHouse (`model_events`).
//
// One writer at a time per pipeline: a change takes the pipeline's transactional id, which fences
// any earlier writer and waits until its last transaction is final, then reads the log to its end,
// plans the change on what it read and commits the change's events in one transaction. A writer
// fenced meanwhile by a newer one fails with MODEL_CHANGE_CONFLICT and writes nothing.
import { randomBytes, randomUUID } from "node:crypto";
import { describeError, isStreamscoreError, StreamscoreError } from "../errors.ts";
import type { Logger } from "../logger.ts";
import {
  applyEvent,
  type ChangeRequest,
  type Deployment,
  emptyDeployment,
  foldEvents,
  type ModelEvent,
  type ModelEventKind,
  modelEventSchema,
  planChange,
} from "../model/lifecycle.ts";
import { pipelineTopics } from "../pipeline/definition.ts";
import { type Kafka, type KafkaMessage, needsNewProducerId, transactionalRetry } from "./client.ts";
import { readTopicToEnd } from "./read-to-end.ts";

/** The transactional id every writer of a pipeline's model log takes (so writers fence each other). */
export function modelLogWriterId(pipeline: string): string {
  return `streamscore-models-${pipeline}`;
}

/**
 * Watchers read as throwaway groups with this prefix (ACLs grant it). It starts with the topic's
 * name, whose dot no pipeline name has, so one pipeline's prefix never covers another's groups.
 */
export function modelLogWatcherGroupPrefix(pipeline: string): string {
  return `${pipelineTopics(pipeline).modelEvents}.watch-`;
}

/** An event from a log record, or undefined for a record that is not one (logged by the caller). */
export function parseModelEvent(message: KafkaMessage): ModelEvent | undefined {
  if (!message.value) return undefined;
  try {
    const parsed = modelEventSchema.safeParse(JSON.parse(message.value.toString("utf8")));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

export async function readModelEvents(kafka: Kafka, pipeline: string): Promise<ModelEvent[]> {
  const events: ModelEvent[] = [];
  await readTopicToEnd(
    kafka,
    pipelineTopics(pipeline).modelEvents,
    (_, message) => {
      const event = parseModelEvent(message);
      if (event) events.push(event);
    },
    { groupPrefix: modelLogWatcherGroupPrefix(pipeline), stallTimeoutMs: 30_000, timeoutMs: 60_000 },
  );
  return events;
}

export async function readDeployment(kafka: Kafka, pipeline: string): Promise<Deployment> {
  return foldEvents(pipeline, await readModelEvents(kafka, pipeline));
}

function newEvent(
  pipeline: string,
  changeId: string,
  fields: Pick<ModelEvent, "version" | "kind" | "fromState" | "toState" | "weight" | "actor" | "reason" | "evidence">,
): ModelEvent {
  return { eventId: randomUUID(), changeId, pipeline, at: Date.now(), ...fields };
}

/** What the writer may be asked to append besides a change: a refusal, a policy's request or recommendation. */
export interface NoticeRequest {
  kind: Extract<ModelEventKind, "refused" | "retrain-requested" | "promotion-recommended" | "rollback-recommended">;
  version: number | null;
  actor: string;
  reason: string;
  evidence?: Record<string, unknown>;
}

export interface ModelLogWriter {
  /**
   * Plans the change on the log as it stands and appends its events. A change the state does not
   * allow is refused (MODEL_CHANGE_REFUSED) and the refusal itself is appended to the log.
   */
  change(request: ChangeRequest): Promise<{ events: ModelEvent[]; deployment: Deployment }>;
  /** Appends an event that changes no state (a refused request from elsewhere, a retraining request). */
  notice(request: NoticeRequest): Promise<ModelEvent>;
}

export function createModelLogWriter(kafka: Kafka, pipeline: string, logger: Logger): ModelLogWriter {
  const topic = pipelineTopics(pipeline).modelEvents;
  const log = logger.child({ module: "model-log", pipeline });

  /** Takes the writer id, reads the log, and runs `decide` on it inside one transaction. */
  async function exclusively<T>(decide: (deployment: Deployment) => { events: ModelEvent[]; result: T }): Promise<T> {
    const producer = kafka.producer({
      transactionalId: modelLogWriterId(pipeline),
      idempotent: true,
      maxInFlightRequests: 1,
      retry: { ...transactionalRetry, retries: 10 },
    });
    await producer.connect();
    try {
      // Fences any earlier writer and waits for its last transaction (see partitionProducers).
      await (await producer.transaction()).abort();
      const deployment = foldEvents(pipeline, await readModelEvents(kafka, pipeline));
      const { events, result } = decide(deployment);
      const transaction = await producer.transaction();
      try {
        await transaction.send({
          topic,
          acks: -1,
          messages: events.map((event) => ({ key: pipeline, value: JSON.stringify(event) })),
        });
        await transaction.commit();
      } catch (error) {
        await transaction.abort().catch(() => undefined);
        throw error;
      }
      return result;
    } catch (error) {
      if (needsNewProducerId(error)) {
        throw new StreamscoreError(
          "MODEL_CHANGE_CONFLICT",
          `another change to ${pipeline}'s models ran at the same time; try again`,
          {
            cause: error,
          },
        );
      }
      throw error;
    } finally {
      await producer.disconnect().catch(() => undefined);
    }
  }

  return {
    async change(request) {
      const changeId = randomUUID();
      let refusal: StreamscoreError | undefined;
      const events = await exclusively((deployment) => {
        try {
          const planned = planChange(deployment, request).map((change) =>
            newEvent(pipeline, changeId, {
              ...change,
              actor: request.actor,
              reason: request.reason,
              evidence: request.evidence ?? {},
            }),
          );
          return { events: planned, result: planned };
        } catch (error) {
          if (!isStreamscoreError(error) || error.code !== "MODEL_CHANGE_REFUSED") throw error;
          refusal = error;
          const current = request.version === undefined ? undefined : deployment.versions.get(request.version);
          const refused = newEvent(pipeline, changeId, {
            version: request.version ?? null,
            kind: "refused",
            fromState: current?.state ?? null,
            toState: null,
            weight: request.weight ?? null,
            actor: request.actor,
            reason: request.reason.trim() === "" ? "(none given)" : request.reason,
            evidence: { ...request.evidence, requested: request.action, refusedBecause: error.message },
          });
          return { events: [refused], result: [] };
        }
      });
      if (refusal) {
        log.warn(
          { action: request.action, version: request.version, actor: request.actor, error: refusal.message },
          "model change refused",
        );
        throw refusal;
      }
      log.info({ action: request.action, version: request.version, actor: request.actor }, "model change committed");
      return { events, deployment: foldEvents(pipeline, await readModelEvents(kafka, pipeline)) };
    },
    async notice(request) {
      return exclusively(() => {
        const event = newEvent(pipeline, randomUUID(), {
          version: request.version,
          kind: request.kind,
          fromState: null,
          toState: null,
          weight: null,
          actor: request.actor,
          reason: request.reason,
          evidence: request.evidence ?? {},
        });
        return { events: [event], result: event };
      });
    },
  };
}

export interface ModelLogWatcher {
  /** The deployment as folded from every event read so far. */
  readonly deployment: Deployment;
  /** Resolves once the log is read up to where it ended when the watch started. */
  start(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Follows the log for as long as the service runs, folding each event as it arrives. Reads as a
 * throwaway group that commits nothing; a consumer restart reads from the beginning again and
 * skips what it has folded already.
 */
export function watchModelLog(
  kafka: Kafka,
  pipeline: string,
  logger: Logger,
  onChange: (deployment: Deployment, events: ModelEvent[]) => void = () => {},
): ModelLogWatcher {
  const topic = pipelineTopics(pipeline).modelEvents;
  const log = logger.child({ module: "model-log", pipeline });
  const groupId = `${modelLogWatcherGroupPrefix(pipeline)}${randomBytes(6).toString("hex")}`;
  const consumer = kafka.consumer({ groupId, readUncommitted: false, maxWaitTimeInMs: 200 });
  let deployment = emptyDeployment(pipeline);
  let nextOffset = 0n;
  let caughtUp: () => void = () => {};
  const reachedEnd = new Promise<void>((resolve) => {
    caughtUp = resolve;
  });
  let endOffset = 0n;

  function fold(messages: KafkaMessage[]): void {
    const events: ModelEvent[] = [];
    for (const message of messages) {
      const offset = BigInt(message.offset);
      if (offset < nextOffset) continue;
      nextOffset = offset + 1n;
      const event = parseModelEvent(message);
      if (!event) {
        log.error({ offset: message.offset }, "record on the model log is not a model event; skipped");
        continue;
      }
      events.push(event);
    }
    if (events.length === 0) return;
    for (const event of events) if (event.pipeline === pipeline) deployment = applyEvent(deployment, event);
    onChange(deployment, events);
  }

  return {
    get deployment() {
      return deployment;
    },
    async start() {
      const admin = kafka.admin();
      await admin.connect();
      try {
        const [offsets] = await admin.fetchTopicOffsets(topic);
        endOffset = BigInt(offsets?.high ?? "0");
      } finally {
        await admin.disconnect();
      }
      // Batches of only transaction markers end a batch too, which is how the end is seen.
      consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
        if (BigInt(payload.lastOffset) + 1n >= endOffset) caughtUp();
      });
      await consumer.connect();
      await consumer.subscribe({ topic, fromBeginning: true });
      await consumer.run({ autoCommit: false, eachBatch: async ({ batch }) => fold(batch.messages) });
      if (endOffset === 0n) caughtUp();
      await reachedEnd;
    },
    async stop() {
      await consumer
        .disconnect()
        .catch((error: unknown) => log.warn({ error: describeError(error) }, "watcher close failed"));
      const admin = kafka.admin();
      await admin.connect();
      await admin.deleteGroups([groupId]).catch(() => undefined);
      await admin.disconnect();
    },
  };
}
