// Least privilege in Kafka: which principal may do what, derived from a pipeline's topic names and
// the consumer groups and transactional ids its services use. Pure: the Kafka adapter
// (client.ts) turns these entries into CreateAcls/DeleteAcls requests.
import { pipelineTopics } from "../pipeline/definition.ts";
import { kafkaPrincipals } from "../services.ts";
import { modelLogWatcherGroupPrefix, modelLogWriterId } from "./model-log.ts";

export type AclResource = "topic" | "group" | "transactional-id" | "cluster";
export type AclOperation = "read" | "write" | "describe" | "delete" | "idempotent-write";

export interface AclEntry {
  /** `User:<name>`, as the broker's SASL authentication names it. */
  principal: string;
  resource: AclResource;
  /** The resource's name, or its prefix when `pattern` is prefixed; `kafka-cluster` for the cluster. */
  name: string;
  pattern: "literal" | "prefixed";
  operation: AclOperation;
}

/** The SASL user each service connects as. */
export interface ServicePrincipals {
  ingest: string;
  transformer: string;
  inference: string;
  monitor: string;
}

export const defaultServiceUsers: ServicePrincipals = {
  ingest: kafkaPrincipals.producer,
  transformer: kafkaPrincipals.transformer,
  inference: kafkaPrincipals.inference,
  monitor: kafkaPrincipals.monitor,
};

/**
 * The transactional id of one input partition's producer is this prefix plus the partition.
 * The transactional processor builds its ids with it, so the ACL prefix cannot drift from them.
 */
export function transactionalIdPrefix(service: string, inputTopic: string): string {
  return `${service}-${inputTopic}-`;
}

/** The names the services of one pipeline use (see the services' `service.ts`). */
export function pipelineClientNames(pipeline: string) {
  const topics = pipelineTopics(pipeline);
  return {
    transformerGroup: `streamscore-transformer-${pipeline}`,
    transformerTransactions: transactionalIdPrefix(`streamscore-transformer-${pipeline}`, topics.raw),
    /** State restore reads the changelog in a throwaway group named after it (read-to-end.ts). */
    transformerRestoreGroups: `restore-${topics.transformerState}-`,
    inferenceGroup: `streamscore-inference-${pipeline}`,
    inferenceTransactions: transactionalIdPrefix(`streamscore-inference-${pipeline}`, topics.features),
    monitorGroups: ["predictions", "dead-letters", "labels", "model-events", "shadows"].map(
      (name) => `streamscore-monitor-${pipeline}-${name}`,
    ),
    /** Registry changes go through the inference API and the CLI; the monitor appends retraining requests. */
    modelLogWriter: modelLogWriterId(pipeline),
    modelLogWatchers: modelLogWatcherGroupPrefix(pipeline),
    /** The sinks dead-letter in transactions named after their group (sink.ts). */
    monitorTransactions: `streamscore-monitor-${pipeline}-`,
  };
}

function user(name: string): string {
  return `User:${name}`;
}

function grant(
  principal: string,
  resource: AclResource,
  names: readonly string[],
  operations: readonly AclOperation[],
  pattern: AclEntry["pattern"] = "literal",
): AclEntry[] {
  return names.flatMap((name) => operations.map((operation) => ({ principal, resource, name, pattern, operation })));
}

/**
 * The ACLs one pipeline needs. Every service describes all of the pipeline's topics because each
 * one checks at start-up that they exist (setup.ts lists topics, which only shows described ones);
 * describing shows metadata and offsets, never records. Creating topics is left to the admin.
 */
export function pipelineAcls(pipeline: string, users: ServicePrincipals = defaultServiceUsers): AclEntry[] {
  const topics = pipelineTopics(pipeline);
  const names = pipelineClientNames(pipeline);
  const allTopics = Object.values(topics);
  const [ingest, transformer, inference, monitor] = [
    users.ingest,
    users.transformer,
    users.inference,
    users.monitor,
  ].map(user) as [string, string, string, string];
  const describeAll = (principal: string) => grant(principal, "topic", allTopics, ["describe"]);
  return [
    ...describeAll(ingest),
    ...grant(ingest, "topic", [topics.raw], ["write"]),
    ...grant(ingest, "cluster", ["kafka-cluster"], ["idempotent-write"]),

    ...describeAll(transformer),
    ...grant(transformer, "topic", [topics.raw, topics.transformerState], ["read"]),
    ...grant(transformer, "topic", [topics.features, topics.dlq, topics.transformerState], ["write"]),
    ...grant(transformer, "group", [names.transformerGroup], ["read"]),
    ...grant(transformer, "group", [names.transformerRestoreGroups], ["read", "delete"], "prefixed"),
    ...grant(transformer, "transactional-id", [names.transformerTransactions], ["write"], "prefixed"),

    ...describeAll(inference),
    ...grant(inference, "topic", [topics.features], ["read"]),
    ...grant(inference, "topic", [topics.scored, topics.shadowScored, topics.dlq], ["write"]),
    ...grant(inference, "group", [names.inferenceGroup], ["read"]),
    ...grant(inference, "transactional-id", [names.inferenceTransactions], ["write"], "prefixed"),
    ...grant(inference, "topic", [topics.modelEvents], ["read", "write"]),
    ...grant(inference, "transactional-id", [names.modelLogWriter], ["write"]),
    ...grant(inference, "group", [names.modelLogWatchers], ["read", "delete"], "prefixed"),

    ...describeAll(monitor),
    ...grant(
      monitor,
      "topic",
      [topics.scored, topics.shadowScored, topics.dlq, topics.labels, topics.modelEvents],
      ["read"],
    ),
    // Drift alerts, and retraining requests on the model log (as its single fenced writer).
    ...grant(monitor, "topic", [topics.alerts, topics.dlq, topics.modelEvents], ["write"]),
    ...grant(monitor, "transactional-id", [names.modelLogWriter], ["write"]),
    ...grant(monitor, "group", [names.modelLogWatchers], ["read", "delete"], "prefixed"),
    ...grant(monitor, "cluster", ["kafka-cluster"], ["idempotent-write"]),
    ...grant(monitor, "group", names.monitorGroups, ["read"]),
    ...grant(monitor, "transactional-id", [names.monitorTransactions], ["write"], "prefixed"),
  ];
}
