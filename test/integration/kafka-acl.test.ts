// Least privilege in Kafka: a broker of its own (SASL/SCRAM, StandardAuthorizer, ACLs per service
// principal, as `STACK_KAFKA_SECURITY=sasl` and `sasl_ssl` run it) on other ports and in its own directory, so
// the shared broker is never touched. Each permission is checked denied → granted → revoked.
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, rmSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { StackComponent } from "../../infra/local/component.ts";
import { loadStackConfig, type StackConfig } from "../../infra/local/config.ts";
import { kafkaAdminUser, kafkaClientConfig, kafkaComponent, kafkaCredentials } from "../../infra/local/kafka.ts";
import { paymentEvents } from "../../services/producer/generator/payments.ts";
import { type AclEntry, pipelineAcls, pipelineClientNames } from "../../services/shared/kafka/acls.ts";
import {
  type Admin,
  countAcls,
  createAcls,
  createKafka,
  deleteAcls,
  type Kafka,
  type KafkaConnectionConfig,
} from "../../services/shared/kafka/client.ts";
import type { Logger } from "../../services/shared/logger.ts";
import { pipelineTopics } from "../../services/shared/pipeline/definition.ts";
import { waitFor } from "../helpers/integration.ts";
import { startPipelineHarness } from "../helpers/pipeline-harness.ts";
import { freePort } from "../helpers/ports.ts";

const pipeline = "payments";
const topics = pipelineTopics(pipeline);
const names = pipelineClientNames(pipeline);
const acls = pipelineAcls(pipeline);
// kafkajs reports a coordinator lookup refused for a group or transactional id as "Failed to find
// group coordinator". With one partition in each internal topic there is one coordinator for all
// groups and ids, loaded before the checks (see beforeAll), so here that answer means "denied".
const denied = /not authorized|authorization failed|Failed to find group coordinator/i;

describe.each(["sasl", "sasl_ssl"] as const)("Kafka (%s) with SCRAM users and ACLs per service", (security) => {
  const shared = loadStackConfig();
  const dir = join(shared.STACK_DIR, `kafka-acl-${randomBytes(4).toString("hex")}`);
  const clientLog: string[] = [];
  const logger: Logger = pino({ level: "debug" }, { write: (line: string) => clientLog.push(line) });
  const clients: Array<{ disconnect(): Promise<void> }> = [];
  let config: StackConfig;
  let broker: StackComponent | undefined;
  let admin: Admin;

  function kafkaAs(user: string | undefined, overrides: Partial<KafkaConnectionConfig> = {}): Kafka {
    return createKafka({ ...kafkaClientConfig(config, user), ...overrides }, logger);
  }

  /** Connects, sends one record (in a transaction when `transactionalId` is set), disconnects. */
  async function produce(user: string | undefined, topic: string, transactionalId?: string): Promise<void> {
    const producer = kafkaAs(user).producer(
      transactionalId ? { transactionalId, idempotent: true, maxInFlightRequests: 1 } : { idempotent: true },
    );
    await producer.connect();
    try {
      const message = { key: "k", value: `from ${user ?? "anonymous"}` };
      if (!transactionalId) {
        await producer.send({ topic, acks: -1, messages: [message] });
        return;
      }
      const transaction = await producer.transaction();
      try {
        await transaction.send({ topic, acks: -1, messages: [message] });
        await transaction.commit();
      } catch (error) {
        await transaction.abort().catch(() => undefined);
        throw error;
      }
    } finally {
      await producer.disconnect();
    }
  }

  /** Reads the first record of `topic` in `groupId`; rejects when the consumer crashes (e.g. denied). */
  async function consumeOne(user: string, topic: string, groupId: string): Promise<string> {
    const consumer = kafkaAs(user).consumer({ groupId, maxWaitTimeInMs: 100, retry: { retries: 2 } });
    clients.push(consumer);
    try {
      return await new Promise<string>((resolve, reject) => {
        consumer.on(consumer.events.CRASH, ({ payload }) => {
          if (!payload.restart) reject(payload.error);
        });
        consumer
          .connect()
          .then(() => consumer.subscribe({ topic, fromBeginning: true }))
          .then(() =>
            consumer.run({
              autoCommit: false,
              eachMessage: async ({ message }) => resolve(message.value?.toString() ?? ""),
            }),
          )
          .catch(reject);
        setTimeout(() => reject(new Error(`no record from ${topic} within 60 s`)), 60_000).unref();
      });
    } finally {
      await consumer.disconnect();
    }
  }

  function entries(user: string, match: (acl: AclEntry) => boolean): AclEntry[] {
    const found = acls.filter((acl) => acl.principal === `User:${user}` && match(acl));
    expect(found.length).toBeGreaterThan(0);
    return found;
  }

  async function rejectsAsDenied(attempt: () => Promise<unknown>): Promise<boolean> {
    try {
      await attempt();
      return false;
    } catch (error) {
      if (denied.test(String((error as Error).message))) return true;
      throw error;
    }
  }

  /** Without `grants` the attempt is refused; with them it succeeds; once they are revoked it is refused again. */
  async function deniedGrantedRevoked(grants: AclEntry[], attempt: () => Promise<unknown>): Promise<void> {
    await deleteAcls(admin, grants);
    await waitFor("the attempt to be refused without the ACL", async () =>
      (await rejectsAsDenied(attempt)) ? true : undefined,
    );
    await createAcls(admin, grants);
    // ACLs reach the authorizer through the metadata log, so they apply after a moment.
    await waitFor("the attempt to succeed with the ACL", async () =>
      (await rejectsAsDenied(attempt)) ? undefined : true,
    );
    await deleteAcls(admin, grants);
    await waitFor("the attempt to be refused once the ACL is revoked", async () =>
      (await rejectsAsDenied(attempt)) ? true : undefined,
    );
    await createAcls(admin, grants);
  }

  beforeAll(async () => {
    mkdirSync(dir, { recursive: true });
    // The broker's jars are the shared stack's; only data, config and logs are this test's own.
    const jars = `kafka-${shared.STACK_KAFKA_VERSION}`;
    if (!existsSync(join(dir, jars))) symlinkSync(join(shared.STACK_DIR, jars), join(dir, jars));
    config = loadStackConfig({
      STACK_DIR: dir,
      STACK_KAFKA_PORT: String(await freePort()),
      STACK_KAFKA_CONTROLLER_PORT: String(await freePort()),
      STACK_KAFKA_SECURITY: security,
      STACK_KAFKA_ACL_PIPELINES: pipeline,
      STACK_KAFKA_HEAP: "384m",
      STACK_START_TIMEOUT_SECONDS: "150",
    });
    broker = kafkaComponent(config);
    await broker.start();
    admin = kafkaAs(kafkaAdminUser).admin();
    clients.push(admin);
    await admin.connect();
    // Create and load the group and transaction coordinators, so no check meets them loading.
    await produce(kafkaAdminUser, topics.alerts, "warm-up");
    await consumeOne(kafkaAdminUser, topics.alerts, "warm-up");
  }, 240_000);

  afterAll(async () => {
    for (const client of clients) await client.disconnect().catch(() => undefined);
    await broker?.stop();
    rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  it("refuses clients without SASL and with a wrong password", async () => {
    const plain = kafkaAs(undefined, { KAFKA_SSL: false }).producer();
    await expect(
      plain.connect().then(() => plain.send({ topic: topics.raw, messages: [{ value: "x" }] })),
    ).rejects.toThrow(/closed connection|connection error|timed out|timeout/i);
    await plain.disconnect();
    const wrong = kafkaAs("ingest", { KAFKA_SASL_PASSWORD: "not-the-password" }).producer();
    await expect(wrong.connect()).rejects.toThrow(/SASL SCRAM SHA512 authentication failed/i);
    await expect(produce("ingest", topics.raw)).resolves.toBeUndefined();
  });

  // Only a TLS listener can refuse these; the sasl broker has none.
  if (security === "sasl_ssl") {
    it("refuses TLS clients that do not trust the stack's CA, and SASL without TLS", async () => {
      const untrusting = kafkaAs("ingest", { KAFKA_SSL_CA_FILE: undefined }).producer();
      await expect(untrusting.connect()).rejects.toThrow(/self[- ]signed certificate/i);
      const cleartext = kafkaAs("ingest", { KAFKA_SSL: false }).producer();
      await expect(cleartext.connect()).rejects.toThrow(/closed connection|connection error|timed out|timeout/i);
    });
  }

  it("lets ingest write raw records, and nothing else", async () => {
    await deniedGrantedRevoked(
      entries("ingest", (acl) => acl.operation === "write"),
      () => produce("ingest", topics.raw),
    );
    expect(await rejectsAsDenied(() => produce("ingest", topics.features))).toBe(true);
    expect(await rejectsAsDenied(() => consumeOne("ingest", topics.raw, `streamscore-ingest-${pipeline}`))).toBe(true);
  });

  it("lets the transformer read raw in its group and write features in its own transactions", async () => {
    await produce("ingest", topics.raw);
    await deniedGrantedRevoked(
      entries("transformer", (acl) => acl.resource === "group" && acl.name === names.transformerGroup),
      () => consumeOne("transformer", topics.raw, names.transformerGroup),
    );
    await deniedGrantedRevoked(
      entries("transformer", (acl) => acl.resource === "transactional-id"),
      () => produce("transformer", topics.features, `${names.transformerTransactions}0`),
    );
    await produce("transformer", topics.dlq, `${names.transformerTransactions}1`);
    await produce("transformer", topics.transformerState, `${names.transformerTransactions}2`);
  });

  it("keeps the transformer out of scores, and out of inference's transactions", async () => {
    expect(await rejectsAsDenied(() => produce("transformer", topics.scored))).toBe(true);
    expect(
      await rejectsAsDenied(() => produce("transformer", topics.features, `${names.inferenceTransactions}0`)),
    ).toBe(true);
    expect(await rejectsAsDenied(() => consumeOne("transformer", topics.scored, names.transformerGroup))).toBe(true);
  });

  it("lets inference read features and write scores in its own transactions, and nothing upstream", async () => {
    await produce("transformer", topics.features, `${names.transformerTransactions}0`);
    await deniedGrantedRevoked(
      entries("inference", (acl) => acl.resource === "topic" && acl.operation === "read"),
      () => consumeOne("inference", topics.features, names.inferenceGroup),
    );
    await deniedGrantedRevoked(
      entries(
        "inference",
        (acl) => acl.resource === "topic" && acl.name === topics.scored && acl.operation === "write",
      ),
      () => produce("inference", topics.scored, `${names.inferenceTransactions}0`),
    );
    expect(await rejectsAsDenied(() => produce("inference", topics.raw, `${names.inferenceTransactions}1`))).toBe(true);
    expect(
      await rejectsAsDenied(() => produce("inference", topics.features, `${names.transformerTransactions}1`)),
    ).toBe(true);
  });

  it("lets the monitor read scores in its groups and write only alerts and, in its transactions, dead letters", async () => {
    await produce("inference", topics.scored, `${names.inferenceTransactions}0`);
    const predictions = names.monitorGroups[0] ?? "";
    await deniedGrantedRevoked(
      entries("monitor", (acl) => acl.resource === "group" && acl.name === predictions),
      () => consumeOne("monitor", topics.scored, predictions),
    );
    for (const topic of [topics.raw, topics.features, topics.scored, topics.labels]) {
      expect(await rejectsAsDenied(() => produce("monitor", topic))).toBe(true);
    }
    await produce("monitor", topics.alerts);
    await produce("monitor", topics.dlq, `${names.monitorTransactions}predictions-0`);
    expect(await rejectsAsDenied(() => produce("monitor", topics.dlq, `${names.inferenceTransactions}0`))).toBe(true);
    expect(await rejectsAsDenied(() => consumeOne("monitor", topics.raw, predictions))).toBe(true);
  });

  it("runs the whole pipeline with each service as its own principal", async () => {
    const h = await startPipelineHarness({
      base: "payments",
      kafka: {
        admin: kafkaAs(kafkaAdminUser),
        forService: (service) => kafkaAs(service === "producer" ? "ingest" : service),
      },
      beforeServices: async (definition) => {
        const grants = pipelineAcls(definition.name);
        await createAcls(admin, grants);
        await waitFor("the pipeline's ACLs in force", async () =>
          (await countAcls(admin, grants)) === grants.length ? true : undefined,
        );
      },
    });
    try {
      const events = paymentEvents(200, 7, Date.now() - 200_000);
      const response = await h.client.publish(h.definition.name, events);
      expect(response.accepted).toBe(events.length);
      const stored = async () => {
        const [row] = await h.clickhouse.query<{ n: string }>(
          `SELECT count() AS n FROM ${h.database}.predictions FINAL WHERE pipeline = '${h.definition.name}'`,
        );
        return Number(row?.n ?? 0);
      };
      await waitFor(
        "every event scored and stored",
        async () => ((await stored()) >= events.length ? true : undefined),
        120_000,
      );
      expect(await stored()).toBe(events.length);
    } finally {
      await h.stop();
    }
  });

  it("writes no password into the broker's log, the clients' logs or the broker's command line", () => {
    const passwords = Object.values(kafkaCredentials(join(dir, "conf", "kafka")));
    const brokerLog = readFileSync(broker?.logFile ?? "", "utf8");
    const commandLine = readFileSync(`/proc/${broker?.pid()}/cmdline`, "utf8");
    expect(brokerLog).toContain("Kafka Server started");
    expect(clientLog.join("\n")).toMatch(/authentication failed|not authorized/i);
    for (const password of [...passwords, "not-the-password"]) {
      expect(brokerLog).not.toContain(password);
      expect(clientLog.join("\n")).not.toContain(password);
      expect(commandLine).not.toContain(password);
    }
  });
});
