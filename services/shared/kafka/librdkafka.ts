// The librdkafka adapter: the only module that imports @confluentinc/kafka-javascript. It serves
// the exactly-once path (eos-processor.ts): a group consumer that prefetches on librdkafka's own
// threads, and one transactional producer per process whose offsets carry the consumer's group
// metadata (KIP-447), so a single transaction commits every partition the process owns.
import { readFileSync } from "node:fs";
import rdkafka, {
  type ConsumerGlobalConfig,
  type LibrdKafkaError,
  type MessageHeader,
  type KafkaConsumer as RdConsumer,
  type Message as RdMessage,
  type Producer as RdProducer,
} from "@confluentinc/kafka-javascript";
import { StreamscoreError } from "../errors.ts";
import type { KafkaConnectionConfig, KafkaMessage, Message } from "./client.ts";

const { KafkaConsumer, Producer } = rdkafka;

const statisticsIntervalMs = 2000;

/** librdkafka's codes for a rebalance callback's two events. */
const assignPartitions = -175;
const revokePartitions = -174;

type Settings = Record<string, string | number | boolean>;

/** What `committed` gives for a partition the group has never committed. */
export const noCommittedOffset = -1001n;

/** The connection part of librdkafka's configuration, from the same settings kafkajs uses. */
export function librdkafkaSettings(config: KafkaConnectionConfig, clientSuffix?: string): Settings {
  const settings: Settings = {
    "bootstrap.servers": config.KAFKA_BROKERS.join(","),
    "client.id": clientSuffix ? `${config.KAFKA_CLIENT_ID}-${clientSuffix}` : config.KAFKA_CLIENT_ID,
    "socket.connection.setup.timeout.ms": 3000,
    "reconnect.backoff.ms": 100,
    "reconnect.backoff.max.ms": 5000,
  };
  const sasl = config.KAFKA_SASL_MECHANISM !== "none";
  settings["security.protocol"] = `${sasl ? "sasl_" : ""}${config.KAFKA_SSL ? "ssl" : "plaintext"}`;
  if (sasl) {
    settings["sasl.mechanisms"] = config.KAFKA_SASL_MECHANISM.toUpperCase();
    settings["sasl.username"] = config.KAFKA_SASL_USERNAME ?? "";
    settings["sasl.password"] = config.KAFKA_SASL_PASSWORD ?? "";
  }
  if (config.KAFKA_SSL && config.KAFKA_SSL_CA_FILE) {
    // Read here so a missing file fails at start-up with its path, not inside librdkafka.
    settings["ssl.ca.pem"] = readFileSync(config.KAFKA_SSL_CA_FILE, "utf8");
  }
  return settings;
}

/** A librdkafka error, with the flags that say what the client can still do. */
export interface LibrdkafkaFailure {
  message: string;
  code: number;
  /** The producer can do nothing more (fenced, or its id unusable): only a new one can go on. */
  isFatal?: boolean;
  isRetriable?: boolean;
  /** The transaction can only be aborted. */
  isTxnRequiresAbort?: boolean;
}

export function isLibrdkafkaFailure(error: unknown): error is LibrdkafkaFailure {
  return error instanceof Error && typeof (error as { code?: unknown }).code === "number" && "origin" in error;
}

/** Longer than any timeout given to librdkafka itself: only a call that never answers reaches it. */
const unansweredMs = 60_000;

/**
 * A librdkafka call as a promise. A call that never calls back fails after `limitMs` with the
 * call's name (KAFKA_CALL_UNANSWERED), so the processor's retry path takes over.
 */
function settle<T>(
  what: string,
  run: (callback: (error: LibrdKafkaError | null | undefined, value?: T) => void) => void,
  limitMs = unansweredMs,
) {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(
      () =>
        reject(
          new StreamscoreError("KAFKA_CALL_UNANSWERED", `librdkafka ${what} did not answer in ${limitMs / 1000} s`),
        ),
      limitMs,
    );
    run((error, value) => {
      clearTimeout(timer);
      if (error) reject(error);
      else resolve(value as T);
    });
  });
}

function toKafkaMessage(message: RdMessage): KafkaMessage {
  const headers: Record<string, Buffer | Buffer[]> = {};
  for (const header of message.headers ?? []) {
    for (const [name, raw] of Object.entries(header)) {
      const value = Buffer.isBuffer(raw) ? raw : Buffer.from(raw);
      const seen = headers[name];
      headers[name] = seen === undefined ? value : [...(Array.isArray(seen) ? seen : [seen]), value];
    }
  }
  return {
    key:
      message.key === undefined || message.key === null
        ? null
        : Buffer.isBuffer(message.key)
          ? message.key
          : Buffer.from(message.key),
    value: message.value,
    offset: String(message.offset),
    timestamp: String(message.timestamp ?? -1),
    headers,
    attributes: 0,
  };
}

function toHeaders(headers: Message["headers"]): MessageHeader[] | undefined {
  if (!headers) return undefined;
  const list: MessageHeader[] = [];
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    for (const one of Array.isArray(value) ? value : [value]) list.push({ [name]: one });
  }
  return list;
}

/** Queues records on the producer (sent in the background; a flush or commit waits for them). */
function produceAll(producer: RdProducer, topic: string, messages: readonly Message[]): void {
  for (const m of messages) {
    // Outputs are Buffers already (Avro); a copy per record would only cost time.
    const value =
      m.value === null || m.value === undefined ? null : Buffer.isBuffer(m.value) ? m.value : Buffer.from(m.value);
    const key = m.key === null || m.key === undefined ? null : m.key;
    const timestamp = m.timestamp === undefined ? null : Number(m.timestamp);
    producer.produce(topic, m.partition ?? null, value, key, timestamp, undefined, toHeaders(m.headers));
  }
}

export interface FetchedRecord {
  partition: number;
  message: KafkaMessage;
}

export interface GroupConsumerOptions {
  groupId: string;
  topic: string;
  sessionTimeoutMs: number;
  /** How long `consume` waits for a first record when none is buffered. */
  maxWaitMs: number;
  /** The group gave this member these partitions (after every rebalance). */
  onAssigned(partitions: number[]): void;
  /**
   * The group takes this member's partitions away. The rebalance waits until `release` is called,
   * so the transaction under way can end first, under the generation that owned its partitions.
   */
  onRevoked(release: () => void): void;
  onError(error: Error): void;
}

export interface GroupConsumer {
  /** Up to `max` buffered records (waits `maxWaitMs` for the first), in order per partition. */
  consume(max: number): Promise<FetchedRecord[]>;
  /** Moves a partition back, dropping what was fetched past `offset`. */
  seek(partition: number, offset: bigint): Promise<void>;
  /** The group's committed offsets of these partitions, waiting out pending transactions (require_stable). */
  committed(partitions: number[]): Promise<Map<number, bigint>>;
  /** Since when no broker has been up, as librdkafka's statistics tell (undefined: one is up). */
  readonly brokersDownSince: number | undefined;
  /** The partition's end offset as the last fetch saw it ("-1" before any). */
  highWatermark(partition: number): string;
  readonly connected: boolean;
  close(): Promise<void>;
  /** The client the producer's offsets take their group metadata from. */
  readonly client: RdConsumer;
}

export async function createGroupConsumer(settings: Settings, options: GroupConsumerOptions): Promise<GroupConsumer> {
  const config: ConsumerGlobalConfig = {
    ...settings,
    "group.id": options.groupId,
    "enable.auto.commit": false,
    "enable.auto.offset.store": false,
    "isolation.level": "read_committed",
    "session.timeout.ms": options.sessionTimeoutMs,
    "heartbeat.interval.ms": Math.min(3000, Math.floor(options.sessionTimeoutMs / 3)),
    "fetch.wait.max.ms": options.maxWaitMs,
    // Eager: every partition is revoked before any is assigned, so no two members ever hold one.
    "partition.assignment.strategy": "range",
    // The statistics say which brokers are up: librdkafka reconnects by itself and reports no recovery.
    "statistics.interval.ms": statisticsIntervalMs,
    rebalance_cb(this: RdConsumer, error: LibrdKafkaError, assignment: { topic: string; partition: number }[]) {
      if (error.code === assignPartitions) {
        this.assign(assignment);
        options.onAssigned(assignment.filter((a) => a.topic === options.topic).map((a) => a.partition));
      } else if (error.code === revokePartitions) {
        options.onRevoked(() => {
          if (this.isConnected()) this.unassign();
        });
      } else {
        options.onError(new Error(`rebalance failed: ${error.message}`));
      }
    },
  };
  const consumer = new KafkaConsumer(config, { "auto.offset.reset": "earliest" });
  consumer.on("event.error", (error) => options.onError(new Error(error.message)));
  let brokersDownSince: number | undefined;
  consumer.on("event.stats", (event: { message: string }) => {
    const stats = JSON.parse(event.message) as { brokers?: Record<string, { nodeid: number; state: string }> };
    // Bootstrap and coordinator entries have no node id of their own (-1).
    const up = Object.values(stats.brokers ?? {}).some((b) => b.nodeid >= 0 && b.state === "UP");
    brokersDownSince = up ? undefined : (brokersDownSince ?? Date.now());
  });
  await settle("consumer.connect", (callback) => consumer.connect({ timeout: 10_000 }, (error) => callback(error)));
  consumer.setDefaultConsumeTimeout(options.maxWaitMs);
  // Typed as private, but documented: wait only for the first record, then take what is buffered.
  (
    consumer as unknown as { setDefaultIsTimeoutOnlyForFirstMessage(only: boolean): void }
  ).setDefaultIsTimeoutOnlyForFirstMessage(true);
  consumer.subscribe([options.topic]);
  return {
    client: consumer,
    get connected() {
      return consumer.isConnected();
    },
    get brokersDownSince() {
      return brokersDownSince;
    },
    highWatermark(partition) {
      try {
        return String(consumer.getWatermarkOffsets(options.topic, partition).highOffset);
      } catch {
        return "-1";
      }
    },
    async consume(max) {
      const messages = await settle<RdMessage[]>("consumer.consume", (callback) => consumer.consume(max, callback));
      return messages.map((m) => ({ partition: m.partition, message: toKafkaMessage(m) }));
    },
    async seek(partition, offset) {
      await settle("consumer.seek", (callback) =>
        consumer.seek({ topic: options.topic, partition, offset: Number(offset) }, 5000, (error) => callback(error)),
      );
    },
    async committed(partitions) {
      const offsets = await settle<{ partition: number; offset?: number }[]>("consumer.committed", (callback) =>
        consumer.committed(
          partitions.map((partition) => ({ topic: options.topic, partition })),
          10_000,
          callback,
        ),
      );
      // A partition the group never committed comes back without an offset.
      return new Map(offsets.map((o) => [o.partition, o.offset === undefined ? noCommittedOffset : BigInt(o.offset)]));
    },
    async close() {
      if (!consumer.isConnected()) return;
      // As the library's own KafkaJS layer closes: leave the subscription (the revocation
      // releases the partitions), then disconnect (the binding takes only a callback).
      consumer.unsubscribe();
      await settle("consumer.disconnect", (callback) => consumer.disconnect((error) => callback(error)));
    },
  };
}

export interface TransactionalProducer {
  begin(): Promise<void>;
  /** Queues the records; they are sent in the background and flushed by `commit`. */
  send(outputs: readonly { topic: string; messages: Message[] }[]): void;
  /** The consumed offsets (next to read, per partition), with the consumer's group metadata. */
  sendOffsets(topic: string, offsets: Map<number, bigint>, consumer: GroupConsumer): Promise<void>;
  commit(): Promise<void>;
  abort(): Promise<void>;
  close(): Promise<void>;
}

const sendOffsetsTimeoutMs = 10_000;
/** First retry of a transactional request; measured by the bench's one-hop latency row. */
const transactionRetryBackoffMs = 2;

export async function createTransactionalProducer(
  settings: Settings,
  options: { transactionalId: string; transactionTimeoutMs: number },
): Promise<TransactionalProducer> {
  const producer: RdProducer = new Producer({
    ...settings,
    "transactional.id": options.transactionalId,
    "enable.idempotence": true,
    // A crashed owner's open transaction holds back read-committed readers until it times out.
    "transaction.timeout.ms": options.transactionTimeoutMs,
    // Kafka's default partitioner (murmur2 of the key), so keys land where Java clients put them.
    partitioner: "murmur2_random",
    "linger.ms": 1,
    // The broker answers CONCURRENT_TRANSACTIONS to the next transaction's AddOffsetsToTxn until the
    // last commit's markers are written (a few ms); at the default 100 ms backoff every hop waited
    // that long. Retries still back off exponentially to retry.backoff.max.ms (1 s).
    "retry.backoff.ms": transactionRetryBackoffMs,
    "queue.buffering.max.messages": 1_000_000,
    "queue.buffering.max.kbytes": 1_048_576,
    dr_cb: false,
  });
  await settle("producer.connect", (callback) => producer.connect({ timeout: 10_000 }, (error) => callback(error)));
  await settle("producer.initTransactions", (callback) => producer.initTransactions(30_000, callback));
  return {
    begin: () => settle("producer.beginTransaction", (callback) => producer.beginTransaction(callback)),
    send(outputs) {
      for (const { topic, messages } of outputs) produceAll(producer, topic, messages);
    },
    // librdkafka can ignore this call's timeout when the group coordinator went away (its issues
    // #5456 and #5511; seen here after a broker restart), so the limit of our own is kept short.
    sendOffsets: (topic, offsets, consumer) =>
      settle(
        "producer.sendOffsetsToTransaction",
        (callback) =>
          producer.sendOffsetsToTransaction(
            [...offsets].map(([partition, offset]) => ({ topic, partition, offset: Number(offset) })),
            consumer.client,
            sendOffsetsTimeoutMs,
            callback,
          ),
        sendOffsetsTimeoutMs + 5000,
      ),
    commit: () => settle("producer.commitTransaction", (callback) => producer.commitTransaction(30_000, callback)),
    abort: () => settle("producer.abortTransaction", (callback) => producer.abortTransaction(30_000, callback)),
    close: () => settle("producer.disconnect", (callback) => producer.disconnect((error) => callback(error))),
  };
}

export interface PlainProducer {
  /** Queues the records and waits until the broker has every one of them. */
  send(topic: string, messages: readonly Message[]): Promise<void>;
  close(): Promise<void>;
}

/** An idempotent producer (acks from all in-sync replicas), for the bench's raw client figures. */
export async function createPlainProducer(settings: Settings): Promise<PlainProducer> {
  const producer: RdProducer = new Producer({
    ...settings,
    "enable.idempotence": true,
    partitioner: "murmur2_random",
    "linger.ms": 5,
    "queue.buffering.max.messages": 1_000_000,
    "queue.buffering.max.kbytes": 1_048_576,
    dr_cb: false,
  });
  await settle("producer.connect", (callback) => producer.connect({ timeout: 10_000 }, (error) => callback(error)));
  return {
    async send(topic, messages) {
      produceAll(producer, topic, messages);
      await settle("producer.flush", (callback) => producer.flush(60_000, (error) => callback(error)));
    },
    close: () => settle("producer.disconnect", (callback) => producer.disconnect((error) => callback(error))),
  };
}
