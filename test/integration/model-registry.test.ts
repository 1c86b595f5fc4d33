// The model registry on the real stack: inference follows <p>.model-events and serves what it
// says (champion, canary by a stable hash of the card, shadows on every record), changes apply
// while streaming with every event decided once, and every change, refused ones included, lands
// in ClickHouse's model_events.
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { paymentEvents } from "../../services/producer/generator/payments.ts";
import { createAvroCodec, parseAvroSchema } from "../../services/shared/kafka/avro-codec.ts";
import { createModelLogWriter, type ModelLogWriter } from "../../services/shared/kafka/model-log.ts";
import { createLogger } from "../../services/shared/logger.ts";
import { routesToCanary } from "../../services/shared/model/traffic-split.ts";
import { pipelineTopics } from "../../services/shared/pipeline/definition.ts";
import { payments } from "../../services/shared/pipelines/payments.ts";
import { projectRoot } from "../../services/shared/project.ts";
import { readSchema } from "../../services/shared/schemas.ts";
import { waitFor } from "../helpers/integration.ts";
import { type PipelineHarness, startPipelineHarness } from "../helpers/pipeline-harness.ts";

const logger = createLogger({ name: "test", level: "warn" });
const canaryWeight = 30;

describe("model registry, served while streaming", () => {
  const modelsRoot = mkdtempSync(join(tmpdir(), "models-registry-"));
  const modelDir = join(modelsRoot, payments.model.directory);
  let h: PipelineHarness;
  let writer: ModelLogWriter;

  beforeAll(async () => {
    // Three versions of the same model: the roles, not the scores, are under test here.
    for (const version of [1, 2, 3]) {
      cpSync(join(projectRoot, payments.model.directory, "1"), join(modelDir, String(version)), { recursive: true });
      const manifestFile = join(modelDir, String(version), "manifest.json");
      writeFileSync(manifestFile, JSON.stringify({ ...JSON.parse(readFileSync(manifestFile, "utf8")), version }));
    }
    h = await startPipelineHarness({ base: "payments", modelsRoot });
    // Nothing registered yet: inference serves the newest folder until the log says otherwise.
    writer = createModelLogWriter(h.kafka, h.definition.name, logger);
  });
  afterAll(async () => {
    await h?.stop();
  });

  const where = () => `pipeline = '${h.definition.name}'`;
  async function count(table: string, extra = ""): Promise<number> {
    const [row] = await h.clickhouse.query<{ n: string }>(
      `SELECT count() AS n FROM ${h.database}.${table} FINAL WHERE ${where()} ${extra}`,
    );
    return Number(row?.n ?? 0);
  }
  async function servedRoles(): Promise<string> {
    return JSON.stringify(h.inference?.scorer(h.definition.name)?.roles.roles());
  }
  async function change(request: Parameters<ModelLogWriter["change"]>[0]) {
    return writer.change(request);
  }

  it("splits decisions by card between champion and canary, shadows every record, then promotes and rolls back", async () => {
    const actor = "registry test";
    for (const version of [1, 2, 3]) await change({ action: "register", version, actor, reason: `v${version}` });
    await change({ action: "promote", version: 1, actor, reason: "first champion" });
    await change({ action: "canary", version: 2, weight: canaryWeight, actor, reason: "try v2 on 30%" });
    await change({ action: "shadow", version: 3, actor, reason: "watch v3" });
    await waitFor(
      "inference serving champion 1, canary 2, shadow 3",
      async () =>
        (await servedRoles()) ===
        JSON.stringify([
          { version: 1, role: "champion" },
          { version: 2, role: "canary" },
          { version: 3, role: "shadow" },
        ])
          ? true
          : undefined,
      30_000,
    );

    const first = paymentEvents(3000, 77, Date.now() - 3_600_000);
    for (let i = 0; i < first.length; i += 500) await h.client.publish(h.definition.name, first.slice(i, i + 500));
    await waitFor(
      "every decision and shadow score stored",
      async () =>
        (await count("predictions")) >= first.length && (await count("shadow_predictions")) >= first.length
          ? true
          : undefined,
      120_000,
    );

    const decided = await h.clickhouse.query<{
      event_id: string;
      entity: string;
      model_version: number;
      model_role: string;
    }>(`SELECT event_id, entity, model_version, model_role FROM ${h.database}.predictions WHERE ${where()}`);
    expect(decided).toHaveLength(first.length);
    expect(new Set(decided.map((d) => d.event_id)).size).toBe(first.length);
    // Each card's events went to the model the stable hash gives it, and that model's role is on the row.
    const wrong = decided.filter((d) => {
      const canary = routesToCanary(d.entity, canaryWeight);
      return Number(d.model_version) !== (canary ? 2 : 1) || d.model_role !== (canary ? "canary" : "champion");
    });
    expect(wrong).toEqual([]);
    // The split over distinct cards stays within 4 binomial standard deviations of the weight.
    const cards = [...new Set(decided.map((d) => d.entity))];
    const canaryCards = cards.filter((c) => routesToCanary(c, canaryWeight)).length;
    const sd = Math.sqrt(cards.length * 0.3 * 0.7);
    expect(Math.abs(canaryCards - cards.length * 0.3)).toBeLessThan(4 * sd);
    // The shadow scored every event once and never decided one.
    const shadows = await h.clickhouse.query<{ event_id: string; model_version: number; model_role: string }>(
      `SELECT event_id, model_version, model_role FROM ${h.database}.shadow_predictions WHERE ${where()}`,
    );
    expect(shadows).toHaveLength(first.length);
    expect(new Set(shadows.map((s) => s.event_id))).toEqual(new Set(decided.map((d) => d.event_id)));
    expect(shadows.every((s) => Number(s.model_version) === 3 && s.model_role === "shadow")).toBe(true);
    expect(decided.some((d) => Number(d.model_version) === 3)).toBe(false);

    // Labels for the first batch: quality is computed per version, the shadow's too, each on the
    // events that version scored.
    const labelSchema = readSchema("label-event.avsc");
    const labelsTopic = pipelineTopics(h.definition.name).labels;
    const labelId = await h.registry.register(`${labelsTopic}-value`, labelSchema);
    const labelType = parseAvroSchema(labelSchema);
    const codec = createAvroCodec(h.registry.resolve);
    await h.producer.send({
      topic: labelsTopic,
      acks: -1,
      messages: first.map((e) => ({
        key: e.event_id,
        value: codec.encode(labelId, labelType, {
          event_id: e.event_id,
          label: "0",
          label_time: e.event_time + 60_000,
        }),
      })),
    });
    await waitFor(
      "every label stored",
      async () => ((await count("labels")) >= first.length ? true : undefined),
      60_000,
    );
    await h.monitor?.qualityJobs()[0]?.runOnce();
    const quality = await h.clickhouse.query<{ model_version: number; predictions: string }>(
      `SELECT model_version, sum(predictions) AS predictions FROM ${h.database}.model_quality FINAL
       WHERE ${where()} AND metric = 'accuracy' GROUP BY model_version ORDER BY model_version`,
    );
    const decidedBy = (v: number) => decided.filter((d) => Number(d.model_version) === v).length;
    expect(quality.map((q) => [Number(q.model_version), Number(q.predictions)])).toEqual([
      [1, decidedBy(1)],
      [2, decidedBy(2)],
      [3, first.length],
    ]);

    // Promote the canary: version 2 decides for every card from the next transaction on.
    await change({ action: "promote", version: 2, actor, reason: "canary held" });
    await change({ action: "retire", version: 3, actor, reason: "shadow seen enough" });
    await waitFor(
      "inference serving champion 2 alone",
      async () => ((await servedRoles()) === JSON.stringify([{ version: 2, role: "champion" }]) ? true : undefined),
      30_000,
    );
    const second = paymentEvents(1000, 78, Date.now() - 1_800_000);
    for (let i = 0; i < second.length; i += 500) await h.client.publish(h.definition.name, second.slice(i, i + 500));
    const total = first.length + second.length;
    await waitFor(
      "the second batch decided",
      async () => ((await count("predictions")) >= total ? true : undefined),
      120_000,
    );
    const secondIds = second.map((e) => `'${e.event_id}'`).join(",");
    const byVersion = await h.clickhouse.query<{ model_version: number; model_role: string; n: string }>(
      `SELECT model_version, model_role, count() AS n FROM ${h.database}.predictions
       WHERE ${where()} AND event_id IN (${secondIds}) GROUP BY model_version, model_role`,
    );
    expect(byVersion.map((r) => [Number(r.model_version), r.model_role, Number(r.n)])).toEqual([[2, "champion", 1000]]);
    expect(await count("shadow_predictions")).toBe(first.length);

    // Roll back: version 1 decides again, version 2 is retired.
    const rolledBack = await change({ action: "rollback", actor, reason: "v2 worse on labels" });
    expect(rolledBack.deployment.champion).toBe(1);
    await waitFor(
      "inference serving champion 1 again",
      async () => ((await servedRoles()) === JSON.stringify([{ version: 1, role: "champion" }]) ? true : undefined),
      30_000,
    );
    const third = paymentEvents(500, 79, Date.now() - 900_000);
    await h.client.publish(h.definition.name, third);
    await waitFor(
      "the third batch decided",
      async () => ((await count("predictions")) >= total + third.length ? true : undefined),
      120_000,
    );
    const thirdIds = third.map((e) => `'${e.event_id}'`).join(",");
    expect(await count("predictions", `AND event_id IN (${thirdIds}) AND model_version = 1`)).toBe(third.length);
    // Every event decided exactly once over the three deployments.
    expect(await count("predictions")).toBe(total + third.length);

    // A change the registry forbids is refused and audited like the others.
    await expect(change({ action: "promote", version: 7, actor, reason: "no such version" })).rejects.toThrow(
      "version 7 is not registered",
    );
    await waitFor(
      "every registry event in model_events",
      async () => ((await count("model_events")) >= 12 ? true : undefined),
      60_000,
    );
    const audit = await h.clickhouse.query<{ kind: string; version: number; to_state: string; actor: string }>(
      `SELECT kind, version, to_state, actor FROM ${h.database}.model_events FINAL WHERE ${where()} ORDER BY source_offset`,
    );
    expect(audit.map((a) => `${a.kind} ${a.version} ${a.to_state}`)).toEqual([
      "register 1 registered",
      "register 2 registered",
      "register 3 registered",
      "promote 1 champion",
      "canary 2 canary",
      "shadow 3 shadow",
      "promote 2 champion",
      "promote 1 registered",
      "retire 3 retired",
      "rollback 2 retired",
      "rollback 1 champion",
      "refused 7 ",
    ]);
    expect(audit.every((a) => a.actor === actor)).toBe(true);
  });
});
