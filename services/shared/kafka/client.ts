// The Kafka adapter: the only module that imports kafkajs. Everything else takes its types from here.
// First, before kafkajs loads: its read-committed filter lets aborted records through (read-committed.ts).
import "./read-committed.ts";
import { readFileSync } from "node:fs";
import {
  type AclOperationTypes,
  type AclPermissionTypes,
  type AclResourceTypes,
  type Admin,
  Kafka,
  type AclEntry as KafkaAclEntry,
  type KafkaConfig,
  logLevel,
  Partitioners,
  type Producer,
  type ResourcePatternTypes,
  type SASLOptions,
} from "kafkajs";
import type { ConnectionConfig } from "../connection-settings.ts";
import type { Logger } from "../logger.ts";
import type { AclEntry, AclOperation, AclResource } from "./acls.ts";
import { superviseConsumer } from "./consumer-supervisor.ts";

export type {
  Admin,
  Consumer,
  ConsumerRunConfig,
  EachBatchPayload,
  IHeaders,
  ITopicConfig,
  KafkaMessage,
  Message,
  Producer,
  RecordMetadata,
} from "kafkajs";
export { CompressionTypes } from "kafkajs";
export type { Kafka };
export { Partitioners };

export type KafkaConnectionConfig = Pick<
  ConnectionConfig,
  | "KAFKA_BROKERS"
  | "KAFKA_CLIENT_ID"
  | "KAFKA_SASL_MECHANISM"
  | "KAFKA_SASL_USERNAME"
  | "KAFKA_SASL_PASSWORD"
  | "KAFKA_SSL"
  | "KAFKA_SSL_CA_FILE"
>;

function sasl(config: KafkaConnectionConfig): SASLOptions | undefined {
  const username = config.KAFKA_SASL_USERNAME ?? "";
  const password = config.KAFKA_SASL_PASSWORD ?? "";
  switch (config.KAFKA_SASL_MECHANISM) {
    case "none":
      return undefined;
    case "plain":
      return { mechanism: "plain", username, password };
    case "scram-sha-256":
      return { mechanism: "scram-sha-256", username, password };
    case "scram-sha-512":
      return { mechanism: "scram-sha-512", username, password };
  }
}

const levelNames: Record<number, "error" | "warn" | "info" | "debug"> = {
  [logLevel.ERROR]: "error",
  [logLevel.WARN]: "warn",
  [logLevel.INFO]: "info",
  [logLevel.DEBUG]: "debug",
};

/** Each client's connection settings, for the librdkafka path, which makes clients of its own. */
const connections = new WeakMap<Kafka, KafkaConnectionConfig>();

export function kafkaConnection(kafka: Kafka): KafkaConnectionConfig {
  const config = connections.get(kafka);
  if (!config) throw new Error("this Kafka client was not made by createKafka()");
  return config;
}

export function createKafka(config: KafkaConnectionConfig, logger: Logger, clientSuffix?: string): Kafka {
  const log = logger.child({ module: "kafkajs" });
  const options: KafkaConfig = {
    clientId: clientSuffix ? `${config.KAFKA_CLIENT_ID}-${clientSuffix}` : config.KAFKA_CLIENT_ID,
    brokers: config.KAFKA_BROKERS,
    ssl: config.KAFKA_SSL
      ? config.KAFKA_SSL_CA_FILE
        ? { ca: [readFileSync(config.KAFKA_SSL_CA_FILE, "utf8")] }
        : true
      : false,
    sasl: sasl(config),
    connectionTimeout: 3000,
    retry: { retries: 8, initialRetryTime: 200, maxRetryTime: 5000 },
    logLevel: logLevel.WARN,
    // Bridge kafkajs's own log lines into the process's JSON logger.
    logCreator:
      () =>
      ({ level, label, log: entry }) => {
        const { message, ...extra } = entry;
        log[levelNames[level] ?? "info"]({ kafkajsLevel: label, ...extra }, message);
      },
  };
  const kafka = new Kafka(options);
  const createConsumer = kafka.consumer.bind(kafka);
  kafka.consumer = (consumerConfig) => {
    const consumer = createConsumer(consumerConfig);
    superviseConsumer(consumer, log);
    return consumer;
  };
  connections.set(kafka, { ...config, KAFKA_CLIENT_ID: options.clientId ?? config.KAFKA_CLIENT_ID });
  return kafka;
}

/**
 * Idempotent producers retry until the broker answers (callers bound the wait themselves): a
 * limited retry count would let kafkajs give up mid-sequence, which breaks idempotence.
 */
/** Broker answers after which an idempotent producer's id and sequence numbers are unusable. */
const producerStateErrors = new Set(["OUT_OF_ORDER_SEQUENCE_NUMBER", "UNKNOWN_PRODUCER_ID", "INVALID_PRODUCER_EPOCH"]);

/**
 * True when only a new producer (a new producer id) can send again: after an unclean broker
 * restart the broker may have lost the producer's sequence state, and kafkajs then repeats the
 * same error on every later send instead of resetting it, as the Java client does.
 */
export function needsNewProducerId(error: unknown, depth = 0): boolean {
  if (!error || typeof error !== "object" || depth > 5) return false;
  const { type, cause, errors } = error as { type?: unknown; cause?: unknown; errors?: unknown };
  if (typeof type === "string" && producerStateErrors.has(type)) return true;
  if (Array.isArray(errors) && errors.some((e) => needsNewProducerId(e, depth + 1))) return true;
  return needsNewProducerId(cause, depth + 1);
}

export const idempotentRetry = { retries: Number.MAX_SAFE_INTEGER, initialRetryTime: 100, maxRetryTime: 5000 };

/**
 * Transactional producers retry like idempotent ones, but start sooner: the first request of a
 * transaction often meets CONCURRENT_TRANSACTIONS while the broker still writes the previous
 * commit's markers (a few milliseconds), and a 100 ms first backoff would add that to the latency
 * of every transaction.
 */
export const transactionalRetry = { ...idempotentRetry, initialRetryTime: 5 };

export interface PartitionProducers {
  /** The partition's producer, created and connected on first use. */
  get(partition: number): Promise<Producer>;
  /** Drops the partition's producer (fenced, broken or revoked); the next `get` makes a new one. */
  discard(partition: number): Promise<void>;
  discardAll(): Promise<void>;
}

/**
 * Transactional producers keyed by input partition, each with its own id (prefix + partition), so
 * a new owner of the partition fences the old one.
 */
export function partitionProducers(kafka: Kafka, idPrefix: string): PartitionProducers {
  // Promises, so two callers at once share one producer instead of fencing each other.
  const producers = new Map<number, Promise<Producer>>();
  const discard = async (partition: number) => {
    const producer = producers.get(partition);
    producers.delete(partition);
    await (await producer?.catch(() => undefined))?.disconnect().catch(() => undefined);
  };
  async function create(partition: number): Promise<Producer> {
    const producer = kafka.producer({
      transactionalId: `${idPrefix}${partition}`,
      idempotent: true,
      maxInFlightRequests: 1,
      createPartitioner: Partitioners.DefaultPartitioner,
      retry: transactionalRetry,
    });
    await producer.connect();
    // kafkajs's connect() takes a plain idempotent producer id; the transactional one (which fences
    // the id's previous owner and returns only once that owner's last transaction is final) comes
    // with the first transaction. An empty transaction takes it now, so whatever the caller reads
    // next (state, committed offsets) already includes the previous owner's last commit.
    const fence = await producer.transaction();
    await fence.abort();
    return producer;
  }
  return {
    get(partition) {
      let producer = producers.get(partition);
      if (!producer) {
        producer = create(partition);
        producers.set(partition, producer);
        // A failed start is not kept: the next get() tries again.
        producer.catch(() => {
          if (producers.get(partition) === producer) producers.delete(partition);
        });
      }
      return producer;
    },
    discard,
    async discardAll() {
      await Promise.all([...producers.keys()].map(discard));
    },
  };
}

/**
 * The producer for records that are not part of a transaction: idempotent, acks from all
 * in-sync replicas, one request in flight (kafkajs needs that for idempotence), and Kafka's
 * default (murmur2) partitioner so keys land where Java clients would put them.
 */
export function createIdempotentProducer(kafka: Kafka): Producer {
  return kafka.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    createPartitioner: Partitioners.DefaultPartitioner,
    retry: idempotentRetry,
  });
}

// Kafka's wire codes (the protocol fixes them). kafkajs declares them as enums, but Node's
// ES-module import of kafkajs cannot see those exports, so the values are spelled out here.
const resourceTypes: Record<AclResource, number> = { topic: 2, group: 3, cluster: 4, "transactional-id": 5 };
const operations: Record<AclOperation, number> = {
  read: 3,
  write: 4,
  delete: 6,
  describe: 8,
  "idempotent-write": 12,
};
const allow = 3;
/** Matches every resource type, pattern, operation and permission in a filter. */
const any = 1;
const patternTypes: Record<AclEntry["pattern"], number> = { literal: 3, prefixed: 4 };

function toKafkaAcl(entry: AclEntry): KafkaAclEntry {
  return {
    principal: entry.principal,
    host: "*",
    operation: operations[entry.operation] as AclOperationTypes,
    permissionType: allow as AclPermissionTypes,
    resourceType: resourceTypes[entry.resource] as AclResourceTypes,
    resourceName: entry.name,
    resourcePatternType: patternTypes[entry.pattern] as ResourcePatternTypes,
  };
}

/** Adds allow-ACLs (idempotent: the broker keeps one copy of each). Needs an admin allowed to alter the cluster. */
export async function createAcls(admin: Admin, entries: readonly AclEntry[]): Promise<void> {
  if (entries.length > 0) await admin.createAcls({ acl: entries.map(toKafkaAcl) });
}

/** Removes exactly these allow-ACLs. */
export async function deleteAcls(admin: Admin, entries: readonly AclEntry[]): Promise<void> {
  if (entries.length > 0) await admin.deleteAcls({ filters: entries.map(toKafkaAcl) });
}

/** How many of these ACLs the broker's authorizer holds now (ACLs reach it through the metadata log). */
export async function countAcls(admin: Admin, entries: readonly AclEntry[]): Promise<number> {
  const { resources } = await admin.describeAcls({
    resourceType: any as AclResourceTypes,
    resourcePatternType: any as ResourcePatternTypes,
    operation: any as AclOperationTypes,
    permissionType: any as AclPermissionTypes,
  });
  const held = new Set(
    resources.flatMap((r) =>
      r.acls.map((a) => `${a.principal}|${r.resourceType}|${r.resourceName}|${r.resourcePatternType}|${a.operation}`),
    ),
  );
  return entries
    .map(toKafkaAcl)
    .filter((a) =>
      held.has(`${a.principal}|${a.resourceType}|${a.resourceName}|${a.resourcePatternType}|${a.operation}`),
    ).length;
}
