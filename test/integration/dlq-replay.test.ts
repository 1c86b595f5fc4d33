import { rmSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import type { StackComponent } from "../../infra/local/component.ts";
import { freePort } from "../../infra/local/processes.ts";
import { schemaRegistryComponent } from "../../infra/local/schema-registry.ts";
import { type PaymentEventRecord, paymentStream } from "../../services/producer/generator/payments.ts";
import { createIngestService, type IngestService } from "../../services/producer/service.ts";
import { createKey, type KeyStore, RateLimiter } from "../../services/shared/auth/api-keys.ts";
import { createAvroCodec, parseAvroSchema } from "../../services/shared/kafka/avro-codec.ts";
import type { KafkaMessage } from "../../services/shared/kafka/client.ts";
import { headerText } from "../../services/shared/kafka/dead-letter.ts";
import type { ReplayReport } from "../../services/shared/kafka/dead-letter-replay.ts";
import { readTopicToEnd } from "../../services/shared/kafka/read-to-end.ts";
import { encodeWireFormat } from "../../services/shared/kafka/wire-format.ts";
import { createLogger } from "../../services/shared/logger.ts";
import { createRegistry } from "../../services/shared/metrics.ts";
import { pipelineTopics } from "../../services/shared/pipeline/definition.ts";
import { projectRoot } from "../../services/shared/project.ts";
import { readSchema } from "../../services/shared/schemas.ts";
import { uniqueName, waitFor } from "../helpers/integration.ts";
import { linkSharedInstalls, ownStackConfig } from "../helpers/own-stack.ts";
import { type PipelineHarness, startPipelineHarness } from "../helpers/pipeline-harness.ts";
import { runScript } from "../helpers/run-script.ts";

const localStack = inject("endpoints").source === "local-stack";

/** Version 2 of the payment schema: one optional field more, which BACKWARD compatibility allows. */
function paymentSchemaV2(): object {
  const v1 = readSchema("payments-event.avsc") as { fields: object[] };
  return {
    ...v1,
    fields: [...v1.fields, { name: "loyalty_tier", type: ["null", "string"], default: null }],
  };
}

interface CliRun {
  code: number | null;
  out: string;
  err: string;
}

describe("dead-letter replay", () => {
  const dir = join(projectRoot, ".stack", "test-runs", uniqueName("dlq-replay"));
  let registry: StackComponent | undefined;
  let h: PipelineHarness;
  let ingest: IngestService | undefined;
  let ingestUrl = "";
  const store: KeyStore = { keys: [] };

  beforeAll(async () => {
    if (!localStack) return;
    const stack = await ownStackConfig(dir);
    linkSharedInstalls(stack);
    registry = schemaRegistryComponent(stack);
    await registry.start();
    h = await startPipelineHarness({
      base: "payments",
      services: ["transformer", "inference"],
      connection: { SCHEMA_REGISTRY_URL: registry.endpoint },
    });
    // The real ingest service, with API keys, beside the harness's transformer and inference.
    const port = await freePort();
    const metrics = createRegistry("producer");
    ingest = createIngestService({
      kafka: h.kafka,
      schemaRegistry: h.registry,
      logger: createLogger({ name: "test", level: "warn" }),
      registry: metrics,
      pipelines: [h.definition],
      auth: { store: () => store, limiter: new RateLimiter() },
      limits: { maxBodyBytes: 1_048_576, maxEvents: 5000, maxPendingRecords: 50_000, sendTimeoutMs: 10_000 },
      lingerMs: 2,
      port,
    });
    await ingest.start();
    ingestUrl = `http://127.0.0.1:${port}`;
  }, 240_000);

  afterAll(async () => {
    await ingest?.stop();
    await h?.stop();
    await registry?.stop();
    rmSync(dir, { recursive: true, force: true });
  }, 120_000);

  function cli(args: string[]): Promise<CliRun> {
    return runScript("services/producer/cli.ts", args, {
      KAFKA_BROKERS: h.config.KAFKA_BROKERS.join(","),
      SCHEMA_REGISTRY_URL: h.config.SCHEMA_REGISTRY_URL,
      CLICKHOUSE_URL: h.config.CLICKHOUSE_URL,
    });
  }

  async function replayCli(extra: string[]): Promise<{ run: CliRun; report: ReplayReport }> {
    const run = await cli(["dlq", "replay", "--pipeline", `${h.definition.name}=payments`, "--json", ...extra]);
    try {
      return { run, report: JSON.parse(run.out) as ReplayReport };
    } catch {
      throw new Error(`the CLI printed no report (exit ${run.code}): ${run.out}\n${run.err}`);
    }
  }

  /** How often each event id of `ids` is in `topic` now. */
  async function occurrences(topic: string, ids: readonly string[]): Promise<Map<string, number>> {
    const values: Buffer[] = [];
    await readTopicToEnd(h.kafka, topic, (_p, message: KafkaMessage) => {
      if (message.value) values.push(message.value);
    });
    const codec = createAvroCodec(h.registry.resolve);
    await codec.prepare(values);
    const counts = new Map(ids.map((id) => [id, 0]));
    for (const value of values) {
      const id = String((codec.decode(value).record as { event_id: string }).event_id);
      if (counts.has(id)) counts.set(id, (counts.get(id) ?? 0) + 1);
    }
    return counts;
  }

  async function deadLetters(): Promise<KafkaMessage[]> {
    const found: KafkaMessage[] = [];
    await readTopicToEnd(h.kafka, pipelineTopics(h.definition.name).dlq, (_p, message) => {
      found.push(message);
    });
    return found;
  }

  it.skipIf(!localStack)(
    "replays a record dead-lettered for an unknown schema once its schema is registered, and a second replay scores it no second time (needs the local stack's binaries)",
    async () => {
      const topics = pipelineTopics(h.definition.name);
      const good: PaymentEventRecord[] = [];
      for (const { event } of paymentStream({
        seed: 17,
        startTime: Date.now() - 60_000,
        ratePerSecond: 1,
        idPrefix: `good-${h.definition.name}`,
      })) {
        good.push(event);
        if (good.length === 20) break;
      }
      const v1 = parseAvroSchema(readSchema("payments-event.avsc"));
      await h.producer.send({
        topic: topics.raw,
        acks: -1,
        messages: good.map((e) => ({ key: e.card_id, value: encodeWireFormat(h.rawSchemaId, v1.toBuffer(e)) })),
      });

      // The id the next registration gets: one past a probe's, in a registry nobody else writes to.
      const probeId = await h.registry.register(`${h.definition.name}-probe-value`, {
        type: "record",
        name: "ReplayProbe",
        fields: [{ name: "probe", type: "string" }],
      });
      const v2Id = probeId + 1;
      const v2Schema = paymentSchemaV2();
      const v2 = parseAvroSchema(v2Schema);
      const late = { ...(good[19] as PaymentEventRecord), event_id: `late-${h.definition.name}`, loyalty_tier: "gold" };
      await h.producer.send({
        topic: topics.raw,
        acks: -1,
        messages: [{ key: late.card_id, value: encodeWireFormat(v2Id, v2.toBuffer(late)) }],
      });

      const ids = [...good.map((e) => e.event_id), late.event_id];
      await waitFor(
        "the good payments to be scored",
        async () => {
          const counts = await occurrences(topics.scored, ids);
          return good.every((e) => counts.get(e.event_id) === 1) ? true : undefined;
        },
        60_000,
      );
      const [letter] = await waitFor(
        "the late payment's dead letter",
        async () => {
          const found = await deadLetters();
          return found.length > 0 ? found : undefined;
        },
        30_000,
      );
      expect(headerText(letter?.headers, "x-error-code")).toBe("SCHEMA_NOT_FOUND");
      expect(headerText(letter?.headers, "x-original-topic")).toBe(topics.raw);
      // Payments carry personal data: the dead letter holds no value, the replay reads the original.
      expect(letter?.value).toBeNull();

      // Before the fix: the dry run would send it, and says it still fails.
      const before = await replayCli(["--dry-run"]);
      expect(before.report).toMatchObject({
        dryRun: true,
        read: 1,
        replayed: 1,
        stillFailing: { method: "decode-check", count: 1, byCode: { SCHEMA_NOT_FOUND: 1 } },
      });
      expect(before.run.code).toBe(1);

      // The fix: version 2 registered under the raw topic's subject gets the id the record carries.
      expect(await h.registry.register(`${topics.raw}-value`, v2Schema)).toBe(v2Id);
      const after = await replayCli(["--dry-run"]);
      expect(after.report.stillFailing).toMatchObject({ method: "decode-check", count: 0 });
      expect(after.run.code).toBe(0);
      // A dry run sends nothing: the raw topic holds the original only.
      expect((await occurrences(topics.raw, [late.event_id])).get(late.event_id)).toBe(1);

      // Filters: another code skips it.
      const filtered = await replayCli(["--code", "CLEANING_REJECTED", "--wait", "0"]);
      expect(filtered.report).toMatchObject({ replayed: 0, skipped: { code: 1 } });

      const first = await replayCli(["--code", "SCHEMA_NOT_FOUND", "--wait", "60"]);
      expect(first.report).toMatchObject({
        dryRun: false,
        replayed: 1,
        stillFailing: { method: "after-processing", count: 0, notYetProcessed: 0 },
      });
      expect(first.run.code).toBe(0);
      await waitFor(
        "the replayed payment to be scored",
        async () => ((await occurrences(topics.scored, [late.event_id])).get(late.event_id) ? true : undefined),
        60_000,
      );

      // Again, through the ingest API: a key without the replay scope is refused, naming it.
      const publishOnly = createKey({ name: "publisher", pipelines: [h.definition.name], ratePerSecond: 100 });
      const replayer = createKey({
        name: "operator",
        pipelines: [h.definition.name],
        ratePerSecond: 100,
        scopes: ["replay"],
      });
      store.keys.push(publishOnly.entry, replayer.entry);
      const url = `${ingestUrl}/v1/pipelines/${h.definition.name}/dlq/replay`;
      const refused = await fetch(url, {
        method: "POST",
        headers: { authorization: `Bearer ${publishOnly.key}`, "content-type": "application/json" },
        body: JSON.stringify({ code: "SCHEMA_NOT_FOUND" }),
      });
      expect(refused.status).toBe(403);
      expect(((await refused.json()) as { message: string }).message).toContain("replay");

      const second = await fetch(url, {
        method: "POST",
        headers: { authorization: `Bearer ${replayer.key}`, "content-type": "application/json" },
        body: JSON.stringify({ code: "SCHEMA_NOT_FOUND", waitSeconds: 60 }),
      });
      expect(second.status).toBe(200);
      // The first replay left no new dead letter, so the same one goes back again ...
      expect((await second.json()) as ReplayReport).toMatchObject({
        replayed: 1,
        stillFailing: { method: "after-processing", count: 0, notYetProcessed: 0 },
      });
      // ... and the transformer, which has committed past it, dropped it: one features record, one score.
      expect((await occurrences(topics.raw, [late.event_id])).get(late.event_id)).toBe(3);
      expect((await occurrences(topics.features, ids)).get(late.event_id)).toBe(1);
      await waitFor(
        "inference to have read every features record",
        async () => {
          const scored = await occurrences(topics.scored, ids);
          return [...scored.values()].reduce((a, b) => a + b, 0) >= ids.length ? scored : undefined;
        },
        60_000,
      );
      const scored = await occurrences(topics.scored, ids);
      expect([...scored.values()].every((n) => n === 1)).toBe(true);
    },
    300_000,
  );
});
