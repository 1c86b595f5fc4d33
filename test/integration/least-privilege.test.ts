// Least privilege end to end: the payments pipeline runs with the monitor as the restricted
// ClickHouse writer and the ingest API behind keys; card numbers are sent and must come out only
// as pseudonyms (features, scored, dead letters, state changelog, ClickHouse rows); and no log line
// of the whole run, captured at debug level, holds a secret or a card number.
import { createSecretKey, randomInt } from "node:crypto";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type PaymentEventRecord, paymentStream } from "../../services/producer/generator/payments.ts";
import { createKey, RateLimiter } from "../../services/shared/auth/api-keys.ts";
import { createClickHouse } from "../../services/shared/clickhouse/client.ts";
import type { ConnectionConfig } from "../../services/shared/connection-settings.ts";
import { createAvroCodec, parseAvroSchema } from "../../services/shared/kafka/avro-codec.ts";
import { createKafka, type KafkaMessage } from "../../services/shared/kafka/client.ts";
import { readTopicToEnd } from "../../services/shared/kafka/read-to-end.ts";
import { pipelineTopics } from "../../services/shared/pipeline/definition.ts";
import { readSchema } from "../../services/shared/schemas.ts";
import { pseudonymize } from "../../services/transformer/personal-data.ts";
import { testWriterConfig, uniqueName, waitFor } from "../helpers/integration.ts";
import { type PipelineHarness, startPipelineHarness } from "../helpers/pipeline-harness.ts";

const writerConfig = testWriterConfig();
const eventCount = 60;

/** Every line the run logs: the services' pino logger at debug, plus console and stdio writes. */
function captureLogs() {
  const lines: string[] = [];
  const keep = (chunk: unknown) => {
    lines.push(typeof chunk === "string" ? chunk : Buffer.isBuffer(chunk) ? chunk.toString("utf8") : String(chunk));
  };
  const restores: Array<() => void> = [];
  for (const stream of [process.stdout, process.stderr]) {
    const original = stream.write.bind(stream);
    stream.write = ((chunk: unknown, ...rest: unknown[]) => {
      keep(chunk);
      return (original as (...args: unknown[]) => boolean)(chunk, ...rest);
    }) as typeof stream.write;
    restores.push(() => {
      stream.write = original;
    });
  }
  for (const method of ["log", "info", "warn", "error", "debug", "trace"] as const) {
    const original = console[method];
    console[method] = (...args: unknown[]) => {
      keep(
        args
          .map((a) => (a instanceof Error ? `${a.message} ${a.stack}` : typeof a === "string" ? a : JSON.stringify(a)))
          .join(" "),
      );
      original.apply(console, args);
    };
    restores.push(() => {
      console[method] = original;
    });
  }
  const logger = pino({ level: "debug", base: { service: "least-privilege-test" } }, { write: keep });
  return {
    lines,
    logger,
    restore: () => {
      for (const restore of restores.splice(0)) restore();
    },
  };
}

function messageText(message: KafkaMessage): string {
  const headers = Object.entries(message.headers ?? {}).map(([name, value]) => `${name}=${String(value)}`);
  return [message.key?.toString("latin1") ?? "", message.value?.toString("latin1") ?? "", ...headers].join("\n");
}

describe.skipIf(!writerConfig)("least privilege (needs the local stack's ClickHouse writer user)", () => {
  const capture = captureLogs();
  const apiKey = createKey({ name: uniqueName("least-privilege"), pipelines: ["*"], ratePerSecond: 10_000 });
  // Card numbers of this run only: a random 11-digit prefix, then the generator's card index.
  const cardPrefix = `4${String(randomInt(1e10, 1e11 - 1))}`;
  const saslPassword = `sasl-${uniqueName("pw")}`;
  let h: PipelineHarness;
  let stopped = false;
  let cards: string[] = [];
  let pseudonyms = new Set<string>();

  beforeAll(async () => {
    h = await startPipelineHarness({
      base: "payments",
      monitorClickHouse: writerConfig,
      logger: capture.logger,
      auth: { store: () => ({ keys: [apiKey.entry] }), limiter: new RateLimiter() },
    });
  }, 120_000);
  afterAll(async () => {
    capture.restore();
    if (!stopped) await h?.stop();
  });

  it("runs the pipeline with the monitor as the writer, behind API keys", async () => {
    const events: PaymentEventRecord[] = [];
    for (const { event } of paymentStream({
      seed: 11,
      startTime: Date.now() - eventCount * 1000,
      ratePerSecond: 1,
      cards: 8,
      cardPrefix,
      idPrefix: uniqueName("lp"),
    })) {
      events.push(event);
      if (events.length === eventCount) break;
    }
    cards = [...new Set(events.map((e) => e.card_id))];
    const key = createSecretKey(h.personalDataKey);
    pseudonyms = new Set(cards.map((card) => pseudonymize(key, card)));

    const post = (headers: Record<string, string>) =>
      fetch(`${h.ingestUrl}/v1/pipelines/${h.definition.name}/events`, {
        method: "POST",
        headers: { "content-type": "application/json", ...headers },
        body: JSON.stringify(events),
      });
    expect((await post({})).status).toBe(401);
    expect((await post({ authorization: `Bearer ${apiKey.key}` })).status).toBe(200);

    // Two dead letters that carry a card number: one the cleaning rejects, one that is not Avro.
    const rawType = parseAvroSchema(readSchema(h.definition.schema) as object);
    const codec = createAvroCodec(async () => rawType);
    const card = cards[0] as string;
    await h.producer.send({
      topic: pipelineTopics(h.definition.name).raw,
      acks: -1,
      messages: [
        {
          key: card,
          value: codec.encode(h.rawSchemaId, rawType, { ...events[0], event_id: uniqueName("neg"), amount: -5 }),
        },
        { key: card, value: Buffer.from(JSON.stringify({ card_id: card, note: "not avro" })) },
      ],
    });

    const pipeline = h.definition.name;
    const count = async (table: string) => {
      const [row] = await h.clickhouse.query<{ n: string }>(
        `SELECT count() AS n FROM ${h.database}.${table} FINAL WHERE pipeline = '${pipeline}'`,
      );
      return Number(row?.n ?? 0);
    };
    await waitFor(
      "predictions and dead letters in ClickHouse",
      async () =>
        (await count("predictions")) === eventCount && (await count("dead_letters")) === 2 ? true : undefined,
      60_000,
    );
    expect(h.monitor?.notReadyReason()).toBeUndefined();
  }, 90_000);

  it("lets no card number out of the transformer: only pseudonyms in topics and ClickHouse", async () => {
    expect(cards.length).toBeGreaterThan(1);
    const topics = pipelineTopics(h.definition.name);
    const seen: Record<string, string[]> = {};
    for (const topic of [topics.features, topics.scored, topics.dlq, topics.transformerState]) {
      const texts: string[] = [];
      await readTopicToEnd(h.kafka, topic, (_partition, message) => texts.push(messageText(message)));
      seen[topic] = texts;
    }
    expect(seen[topics.features]).toHaveLength(eventCount);
    expect(seen[topics.dlq]).toHaveLength(2);
    for (const [topic, texts] of Object.entries(seen)) {
      for (const card of cards) expect(texts.filter((t) => t.includes(card)).length, `${card} in ${topic}`).toBe(0);
    }
    // The pseudonyms are there instead: as keys and entities of features and scored events.
    for (const topic of [topics.features, topics.scored, topics.transformerState]) {
      const found = new Set([...pseudonyms].filter((p) => seen[topic]?.some((t) => t.includes(p))));
      expect(found, topic).toEqual(pseudonyms);
    }

    const pipeline = h.definition.name;
    const rows: string[] = [];
    for (const table of ["predictions", "dead_letters", "labels", "drift_metrics"]) {
      const found = await h.clickhouse.query<Record<string, unknown>>(
        `SELECT * FROM ${h.database}.${table} WHERE pipeline = '${pipeline}'`,
      );
      for (const row of found) {
        const value = typeof row.value_base64 === "string" ? Buffer.from(row.value_base64, "base64").toString() : "";
        rows.push(`${JSON.stringify(row)}\n${value}`);
      }
    }
    for (const card of cards) expect(rows.filter((r) => r.includes(card)).length, card).toBe(0);
    const entities = await h.clickhouse.query<{ entity: string }>(
      `SELECT DISTINCT entity FROM ${h.database}.predictions WHERE pipeline = '${pipeline}'`,
    );
    expect(new Set(entities.map((e) => e.entity))).toEqual(pseudonyms);
  }, 90_000);

  it("writes no secret and no card number to any log line of the run", async () => {
    // A Kafka client with a SASL password the broker does not take: its failure is logged too.
    const sasl = createKafka(
      { ...h.config, KAFKA_SASL_MECHANISM: "plain", KAFKA_SASL_USERNAME: "someone", KAFKA_SASL_PASSWORD: saslPassword },
      capture.logger,
      uniqueName("sasl"),
    );
    const admin = sasl.admin();
    await expect(admin.connect()).rejects.toThrow();
    await admin.disconnect().catch(() => undefined);
    // A ClickHouse statement the writer is refused: the client's own error output is captured too,
    // and the error is logged as a service would log it.
    const writer = createClickHouse(writerConfig as ConnectionConfig);
    const refused: Error = await writer
      .command(`DROP TABLE IF EXISTS streamscore.${uniqueName("absent")}`)
      .then(() => new Error("not refused"))
      .catch((error: Error) => error)
      .finally(() => writer.close());
    expect(refused.message).toMatch(/DDL queries are prohibited/);
    capture.logger.error({ err: refused }, "ClickHouse statement refused");
    await h.stop();
    stopped = true;
    capture.restore();

    const lines = capture.lines
      .join("")
      .split("\n")
      .filter((line) => line.length > 0);
    // The capture works: it holds the refused request, the failed SASL attempt and the refused DDL.
    for (const expected of ["ingest request refused", "SASL", "DDL queries are prohibited"]) {
      expect(
        lines.some((line) => line.includes(expected)),
        expected,
      ).toBe(true);
    }
    const secrets: Record<string, string> = {
      "ingest API key": apiKey.key,
      "ClickHouse writer password": writerConfig?.CLICKHOUSE_PASSWORD ?? "",
      "personal-data key (hex)": h.personalDataKey.toString("hex"),
      "personal-data key (base64)": h.personalDataKey.toString("base64"),
      "personal-data key (base64url)": h.personalDataKey.toString("base64url"),
      "Kafka SASL password": saslPassword,
      ...Object.fromEntries(cards.map((card) => [`card ${card}`, card])),
    };
    for (const [what, secret] of Object.entries(secrets)) {
      expect(secret.length, what).toBeGreaterThan(8);
      expect(lines.filter((line) => line.includes(secret)).length, what).toBe(0);
    }
  }, 60_000);
});
