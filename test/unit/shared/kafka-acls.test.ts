import { describe, expect, it } from "vitest";
import {
  type AclEntry,
  pipelineAcls,
  pipelineClientNames,
  transactionalIdPrefix,
} from "../../../services/shared/kafka/acls.ts";

function allowed(acls: AclEntry[], user: string): string[] {
  return acls
    .filter((acl) => acl.principal === `User:${user}`)
    .map((acl) => `${acl.operation} ${acl.resource}:${acl.name}${acl.pattern === "prefixed" ? "*" : ""}`)
    .sort();
}

/** Whether `user` may do `operation` on a resource, evaluating literal and prefixed patterns as the broker does. */
function may(
  acls: AclEntry[],
  user: string,
  operation: AclEntry["operation"],
  resource: AclEntry["resource"],
  name: string,
) {
  return acls.some(
    (acl) =>
      acl.principal === `User:${user}` &&
      acl.operation === operation &&
      acl.resource === resource &&
      (acl.pattern === "literal" ? acl.name === name : name.startsWith(acl.name)),
  );
}

describe("Kafka ACLs per service principal", () => {
  const acls = pipelineAcls("shop");
  const writes = (user: string) => allowed(acls, user).filter((line) => line.startsWith("write topic:"));
  const reads = (user: string) => allowed(acls, user).filter((line) => line.startsWith("read topic:"));

  it("lets ingest write the raw topic only, idempotently", () => {
    expect(writes("ingest")).toEqual(["write topic:shop.raw"]);
    expect(reads("ingest")).toEqual([]);
    expect(allowed(acls, "ingest")).toContain("idempotent-write cluster:kafka-cluster");
    expect(allowed(acls, "ingest").filter((line) => line.includes("group:"))).toEqual([]);
  });

  it("lets the transformer read raw and its changelog, and write features, dead letters and changelog", () => {
    expect(reads("transformer")).toEqual(["read topic:shop.raw", "read topic:shop.transformer-state"]);
    expect(writes("transformer")).toEqual([
      "write topic:shop.dlq",
      "write topic:shop.features",
      "write topic:shop.transformer-state",
    ]);
    expect(may(acls, "transformer", "read", "group", "streamscore-transformer-shop")).toBe(true);
    expect(may(acls, "transformer", "read", "group", "restore-shop.transformer-state-0a1b2c")).toBe(true);
  });

  it("gives each transactional service exactly its own transactional ids", () => {
    const transformerId = `${transactionalIdPrefix("streamscore-transformer-shop", "shop.raw")}2`;
    const inferenceId = `${transactionalIdPrefix("streamscore-inference-shop", "shop.features")}2`;
    expect(transformerId).toBe("streamscore-transformer-shop-shop.raw-2");
    expect(may(acls, "transformer", "write", "transactional-id", transformerId)).toBe(true);
    expect(may(acls, "transformer", "write", "transactional-id", inferenceId)).toBe(false);
    expect(may(acls, "inference", "write", "transactional-id", inferenceId)).toBe(true);
    expect(may(acls, "inference", "write", "transactional-id", transformerId)).toBe(false);
    expect(allowed(acls, "ingest").filter((line) => line.includes("transactional-id"))).toEqual([]);
    const monitorId = `${transactionalIdPrefix("streamscore-monitor-shop-predictions", "shop.scored")}2`;
    expect(may(acls, "monitor", "write", "transactional-id", monitorId)).toBe(true);
    expect(may(acls, "monitor", "write", "transactional-id", transformerId)).toBe(false);
    expect(may(acls, "transformer", "write", "transactional-id", monitorId)).toBe(false);
  });

  it("does not let one pipeline's grants reach a pipeline whose name extends it", () => {
    const other = pipelineClientNames("shop-shadow");
    expect(may(acls, "transformer", "write", "transactional-id", `${other.transformerTransactions}0`)).toBe(false);
    expect(may(acls, "inference", "read", "group", other.inferenceGroup)).toBe(false);
    expect(may(acls, "monitor", "read", "group", other.monitorGroups[0] ?? "")).toBe(false);
  });

  it("lets inference read features and the model log, and write scores, dead letters and the model log", () => {
    expect(reads("inference")).toEqual(["read topic:shop.features", "read topic:shop.model-events"]);
    expect(writes("inference")).toEqual([
      "write topic:shop.dlq",
      "write topic:shop.model-events",
      "write topic:shop.scored",
      "write topic:shop.shadow-scored",
    ]);
    expect(may(acls, "inference", "read", "group", "streamscore-inference-shop")).toBe(true);
    expect(may(acls, "inference", "write", "transactional-id", "streamscore-models-shop")).toBe(true);
    expect(may(acls, "inference", "read", "group", "shop.model-events.watch-1a2b")).toBe(true);
    expect(may(acls, "transformer", "write", "topic", "shop.model-events")).toBe(false);
    expect(may(acls, "inference", "read", "group", "shop-shadow.model-events.watch-1a2b")).toBe(false);
  });

  it("lets the monitor read scores, dead letters, labels and the model log, and write alerts, dead letters and retraining requests", () => {
    expect(reads("monitor")).toEqual([
      "read topic:shop.dlq",
      "read topic:shop.labels",
      "read topic:shop.model-events",
      "read topic:shop.scored",
      "read topic:shop.shadow-scored",
    ]);
    expect(writes("monitor")).toEqual([
      "write topic:shop.alerts",
      "write topic:shop.dlq",
      "write topic:shop.model-events",
    ]);
    // The model log's single writer id, which fences a concurrent change from inference or the CLI.
    expect(may(acls, "monitor", "write", "transactional-id", "streamscore-models-shop")).toBe(true);
    expect(may(acls, "monitor", "write", "transactional-id", "streamscore-models-shop-shadow")).toBe(false);
    for (const group of ["predictions", "dead-letters", "labels", "model-events", "shadows"]) {
      expect(may(acls, "monitor", "read", "group", `streamscore-monitor-shop-${group}`)).toBe(true);
    }
  });

  it("grants no one creation, deletion of topics, or anything on the cluster but idempotent writes", () => {
    expect(acls.filter((acl) => acl.resource === "topic" && acl.operation === "delete")).toEqual([]);
    expect(new Set(acls.filter((acl) => acl.resource === "cluster").map((acl) => acl.operation))).toEqual(
      new Set(["idempotent-write"]),
    );
    expect(new Set(acls.filter((acl) => acl.operation === "delete").map((acl) => acl.resource))).toEqual(
      new Set(["group"]),
    );
  });

  it("names other principals when asked", () => {
    const custom = pipelineAcls("shop", { ingest: "i", transformer: "t", inference: "n", monitor: "m" });
    expect(new Set(custom.map((acl) => acl.principal))).toEqual(new Set(["User:i", "User:t", "User:n", "User:m"]));
    expect(custom).toHaveLength(acls.length);
  });
});
