// Schemas outlive a registry restart. On a broker and registry of the test's own (the stack's own
// components, so this is the local stack's storage): records are written, the registry is killed
// with kill -9 and started again, then the whole stack (broker and registry) is stopped and started;
// other subjects are registered first each time, in another order. Every record of every topic must
// still decode with the schema it was written with, and the transformer, the monitor and the CLI
// must read the records written before the restarts without a dead letter.
import { spawn } from "node:child_process";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import type { StackComponent } from "../../infra/local/component.ts";
import { kafkaComponent } from "../../infra/local/kafka.ts";
import { schemaRegistryComponent } from "../../infra/local/schema-registry.ts";
import { type PaymentEventRecord, paymentStream } from "../../services/producer/generator/payments.ts";
import { processEnvironment } from "../../services/shared/config.ts";
import { type ConnectionConfig, loadConnectionConfig } from "../../services/shared/connection-settings.ts";
import { createAvroCodec } from "../../services/shared/kafka/avro-codec.ts";
import { createKafka } from "../../services/shared/kafka/client.ts";
import { readTopicToEnd } from "../../services/shared/kafka/read-to-end.ts";
import { createSchemaRegistry } from "../../services/shared/kafka/registry.ts";
import { createLogger } from "../../services/shared/logger.ts";
import { pipelineTopics } from "../../services/shared/pipeline/definition.ts";
import { featuresSchema, scoredSchema } from "../../services/shared/pipeline/records.ts";
import { getPipeline } from "../../services/shared/pipelines/index.ts";
import { projectRoot } from "../../services/shared/project.ts";
import { readSchema } from "../../services/shared/schemas.ts";
import { uniqueName, waitFor } from "../helpers/integration.ts";
import { linkSharedInstalls, ownStackConfig } from "../helpers/own-stack.ts";
import { type PipelineHarness, startPipelineHarness } from "../helpers/pipeline-harness.ts";

const localStack = inject("endpoints").source === "local-stack";
const batch = 300;

/** One record as read back: where it is, the schema id in its header, that schema's text, its value. */
interface ReadRecord {
  at: string;
  schemaId: number;
  schema: string;
  value: string;
}

function events(count: number, seed: number): PaymentEventRecord[] {
  const out: PaymentEventRecord[] = [];
  const stream = paymentStream({ seed, startTime: Date.now() - count * 1000, ratePerSecond: 1, idPrefix: `r${seed}` });
  for (const { event } of stream) {
    out.push(event);
    if (out.length === count) break;
  }
  return out;
}

/** Subjects no pipeline uses, each with a schema of its own: an id reused would name one of these. */
function decoySchemas(tag: string) {
  return ["c", "b", "a"].map((letter) => ({
    subject: `decoy-${tag}-${letter}-value`,
    schema: {
      type: "record",
      name: `Decoy${letter.toUpperCase()}`,
      fields: [{ name: `${letter}_${tag}`, type: "long" }],
    },
  }));
}

describe("schemas outlive a registry restart and a whole-stack restart", () => {
  const config = { dir: join(projectRoot, ".stack", "test-runs", uniqueName("registry-restart")) };
  let broker: StackComponent;
  let registry: StackComponent;
  let connection: ConnectionConfig;
  let harness: PipelineHarness | undefined;
  const pipeline = uniqueName("t-restart").replace(/_/g, "-").toLowerCase();
  const definition = getPipeline(`${pipeline}=payments`);
  const topics = pipelineTopics(pipeline);

  /** Every wire-format record of every pipeline topic, decoded with the registry as it is now. */
  async function readEveryTopic(): Promise<ReadRecord[]> {
    const logger = createLogger({ name: "test", level: "error" });
    const kafka = createKafka(connection, logger);
    const client = createSchemaRegistry(connection);
    const codec = createAvroCodec(client.resolve);
    const schemaText = new Map<number, string>();
    const read: ReadRecord[] = [];
    for (const topic of Object.values(topics)) {
      const values: Array<{ at: string; value: Buffer }> = [];
      await readTopicToEnd(kafka, topic, (partition, message) => {
        if (message.value && message.value[0] === 0)
          values.push({ at: `${topic}/${partition}/${message.offset}`, value: message.value });
      });
      await codec.prepare(values.map((v) => v.value));
      for (const { at, value } of values) {
        const { schemaId, record } = codec.decode(value);
        if (!schemaText.has(schemaId)) {
          const response = await fetch(`${connection.SCHEMA_REGISTRY_URL}/schemas/ids/${schemaId}`);
          schemaText.set(schemaId, ((await response.json()) as { schema: string }).schema);
        }
        read.push({ at, schemaId, schema: schemaText.get(schemaId) as string, value: JSON.stringify(record) });
      }
    }
    // Partitions interleave differently from one read to the next.
    return read.sort((a, b) => a.at.localeCompare(b.at));
  }

  async function registerDecoys(tag: string): Promise<number[]> {
    const client = createSchemaRegistry(connection);
    const ids: number[] = [];
    for (const { subject, schema } of decoySchemas(tag)) ids.push(await client.register(subject, schema));
    return ids;
  }

  async function publish(h: PipelineHarness, all: PaymentEventRecord[]): Promise<void> {
    const response = await h.client.publish(pipeline, all);
    expect(response.accepted).toBe(all.length);
  }

  async function countRecords(topic: string): Promise<number> {
    const kafka = createKafka(connection, createLogger({ name: "test", level: "error" }));
    return readTopicToEnd(kafka, topic, () => undefined);
  }

  beforeAll(async () => {
    if (!localStack) return;
    const stack = await ownStackConfig(config.dir, { STACK_KAFKA_HEAP: "384m" });
    linkSharedInstalls(stack);
    broker = kafkaComponent(stack);
    registry = schemaRegistryComponent(stack);
    await Promise.all([broker.start(), registry.start()]);
    connection = loadConnectionConfig({
      KAFKA_BROKERS: `127.0.0.1:${stack.STACK_KAFKA_PORT}`,
      SCHEMA_REGISTRY_URL: registry.endpoint,
      LOG_LEVEL: "error",
    });
  }, 240_000);

  afterAll(async () => {
    await harness?.stop();
    await registry?.stop();
    await broker?.stop();
    rmSync(config.dir, { recursive: true, force: true });
  }, 120_000);

  it.skipIf(!localStack)(
    "decodes every old record with its own schema, and the services and the CLI read them without a dead letter (needs the local stack's binaries)",
    async () => {
      // Events that went through the whole path before the restarts (raw, features, scored) ...
      const scoredBefore = events(batch, 1);
      const first = await startPipelineHarness({
        base: "payments",
        name: pipeline,
        services: ["producer", "transformer", "inference"],
        connection,
      });
      await publish(first, scoredBefore);
      await waitFor(
        "the first events to be scored",
        async () => ((await countRecords(topics.scored)) >= batch ? true : undefined),
        60_000,
      );
      await first.stop({ keep: true });
      // ... and events only ingested, for the transformer to read after them.
      const rawBefore = events(batch, 2);
      const ingestOnly = await startPipelineHarness({
        base: "payments",
        name: pipeline,
        services: ["producer"],
        connection,
      });
      await publish(ingestOnly, rawBefore);
      await ingestOnly.stop({ keep: true });

      const written = await readEveryTopic();
      const writtenIds = new Set(written.map((r) => r.schemaId));
      expect(written.filter((r) => r.at.startsWith(`${topics.raw}/`))).toHaveLength(2 * batch);
      expect(written.filter((r) => r.at.startsWith(`${topics.scored}/`))).toHaveLength(batch);

      // The registry alone, killed hard: new subjects first, then the pipeline's.
      process.kill(registry.pid() as number, "SIGKILL");
      await registry.start();
      const decoysAfterKill = await registerDecoys("kill");
      expect(decoysAfterKill.filter((id) => writtenIds.has(id))).toEqual([]);
      expect(await readEveryTopic()).toEqual(written);

      // The whole stack, stopped as `stack:down` does and started again; the pipeline's subjects
      // registered in reverse order after other new ones.
      await registry.stop();
      await broker.stop();
      await Promise.all([broker.start(), registry.start()]);
      const decoysAfterStack = await registerDecoys("stack");
      const client = createSchemaRegistry(connection);
      const reversed: Array<[string, object]> = [
        [topics.labels, readSchema("label-event.avsc")],
        [topics.scored, scoredSchema()],
        [topics.features, featuresSchema(definition)],
        [topics.raw, readSchema(definition.schema)],
      ];
      const ids: number[] = [];
      for (const [topic, schema] of reversed) ids.push(await client.register(`${topic}-value`, schema));
      expect(decoysAfterStack.filter((id) => writtenIds.has(id))).toEqual([]);
      // The same schema gets its old id back: the records' ids and the services' ids agree.
      expect(ids.slice(1).every((id) => writtenIds.has(id))).toBe(true);
      expect(await readEveryTopic()).toEqual(written);

      // The transformer reads the raw records written before, the monitor the scored ones.
      harness = await startPipelineHarness({
        base: "payments",
        name: pipeline,
        services: ["transformer", "inference", "monitor"],
        connection,
      });
      const h = harness;
      await waitFor(
        "every event before the restarts in predictions",
        async () => {
          const [row] = await h.clickhouse.query<{ n: string }>(
            `SELECT count() AS n FROM ${h.database}.predictions WHERE pipeline = '${pipeline}'`,
          );
          return Number(row?.n) >= 2 * batch ? true : undefined;
        },
        120_000,
      );
      const [stored] = await h.clickhouse.query<{ n: string; ids: string }>(
        `SELECT count() AS n, uniqExact(event_id) AS ids FROM ${h.database}.predictions WHERE pipeline = '${pipeline}'`,
      );
      expect({ n: Number(stored?.n), ids: Number(stored?.ids) }).toEqual({ n: 2 * batch, ids: 2 * batch });
      const [dead] = await h.clickhouse.query<{ n: string }>(
        `SELECT count() AS n FROM ${h.database}.dead_letters WHERE pipeline = '${pipeline}'`,
      );
      expect(Number(dead?.n)).toBe(0);
      expect(await countRecords(topics.dlq)).toBe(0);

      // The CLI decodes the old scored records too.
      const lines = await runCli([
        "tail",
        topics.scored,
        "--from-beginning",
        "--max",
        String(2 * batch),
        "--timeout",
        "60",
      ]);
      const values = lines.map(
        (line) => (JSON.parse(line) as { value: { undecodable?: string; event_id?: string } }).value,
      );
      expect(values).toHaveLength(2 * batch);
      expect(values.filter((v) => v.undecodable !== undefined)).toEqual([]);
      expect(new Set(values.map((v) => v.event_id))).toEqual(
        new Set([...scoredBefore, ...rawBefore].map((e) => e.event_id)),
      );
    },
    480_000,
  );

  function runCli(args: string[]): Promise<string[]> {
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, [join(projectRoot, "services", "producer", "cli.ts"), ...args], {
        env: {
          ...processEnvironment(),
          KAFKA_BROKERS: connection.KAFKA_BROKERS.join(","),
          SCHEMA_REGISTRY_URL: connection.SCHEMA_REGISTRY_URL,
          LOG_LEVEL: "error",
        },
        stdio: ["ignore", "pipe", "inherit"],
      });
      let out = "";
      child.stdout.on("data", (chunk: Buffer) => {
        out += chunk.toString();
      });
      child.once("error", reject);
      child.once("exit", (code) =>
        code === 0
          ? resolve(out.split("\n").filter((l) => l.startsWith("{")))
          : reject(new Error(`cli exited ${code}`)),
      );
    });
  }
});
