// The closed loop's last steps on the real stack: a shadow that beats the champion on labelled
// windows is promoted by the monitor (autoPromote) and decides from the next transactions on, then
// rolled back once its first labelled windows as champion fall short of the champion it displaced;
// with autoPromote off the monitor only recommends it. Every step is on the model log and in
// model_events with the monitor as the actor and its numbers as the evidence.
//
// The two versions are the same ONNX file; version 2's manifest lists the classes the other way
// round, so its score (the probability in the positive class's column) is version 1's reversed.
// Labels chosen on version 1's ranking then make either version the better one at will, which is
// what the decisions under test need; what the models would learn is not under test here.
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { paymentStream } from "../../services/producer/generator/payments.ts";
import { createAvroCodec, parseAvroSchema } from "../../services/shared/kafka/avro-codec.ts";
import { createModelLogWriter, readModelEvents } from "../../services/shared/kafka/model-log.ts";
import { createLogger } from "../../services/shared/logger.ts";
import type { ModelEvent } from "../../services/shared/model/lifecycle.ts";
import { definePipeline, type PipelineDefinition, pipelineTopics } from "../../services/shared/pipeline/definition.ts";
import { payments } from "../../services/shared/pipelines/payments.ts";
import { projectRoot } from "../../services/shared/project.ts";
import { readSchema } from "../../services/shared/schemas.ts";
import { waitFor } from "../helpers/integration.ts";
import { startPipelineHarness } from "../helpers/pipeline-harness.ts";

const logger = createLogger({ name: "test", level: "warn" });
const windowMs = 60_000;
/** Events per second of event time: 300 a one-minute window, all labelled. */
const rate = 5;

function modelVersions(): string {
  const modelsRoot = mkdtempSync(join(tmpdir(), "models-auto-promotion-"));
  const modelDir = join(modelsRoot, payments.model.directory);
  for (const version of [1, 2]) {
    cpSync(join(projectRoot, payments.model.directory, "1"), join(modelDir, String(version)), { recursive: true });
    const manifestFile = join(modelDir, String(version), "manifest.json");
    const manifest = JSON.parse(readFileSync(manifestFile, "utf8"));
    const reversed =
      version === 2
        ? { classLabels: [...manifest.classLabels].reverse(), classNames: [...manifest.classNames].reverse() }
        : {};
    writeFileSync(manifestFile, JSON.stringify({ ...manifest, version, ...reversed }));
  }
  return modelsRoot;
}

/**
 * One-minute windows, two labelled windows to promote and two to judge a promotion, 100 labels each
 * at least. Short windows because a rollback judges windows that start after the promotion (event
 * time): the next two one-minute windows stay within the transformer's five minutes of future skew.
 */
function withPolicy(autoPromote: boolean) {
  return (definition: PipelineDefinition): PipelineDefinition =>
    definePipeline({
      ...definition,
      monitoring: { ...definition.monitoring, windowSeconds: 60, allowedLatenessSeconds: 30 },
      retraining: {
        // A quality trigger that never fires: retraining requests are not under test.
        quality: { metric: "roc_auc", threshold: 0, minLabels: 1_000_000 },
        gate: { metric: "roc_auc", margin: 0.05, maxSegmentRegression: 0.02 },
        shadowWindows: 2,
        minWindowLabels: 100,
        rollbackWindows: 2,
        autoPromote,
      },
    });
}

function paymentsFrom(seed: number, startTime: number, count: number) {
  const out = [];
  for (const { event } of paymentStream({ seed, startTime, ratePerSecond: rate })) {
    out.push(event);
    if (out.length === count) break;
  }
  return out;
}

/** A running pipeline with champion 1 and shadow 2, and what the tests do with it. */
async function startWithShadow(autoPromote: boolean) {
  const h = await startPipelineHarness({
    base: "payments",
    modelsRoot: modelVersions(),
    adjust: withPolicy(autoPromote),
  });
  const name = h.definition.name;
  const writer = createModelLogWriter(h.kafka, name, logger);
  const actor = "auto-promotion test";
  for (const version of [1, 2]) await writer.change({ action: "register", version, actor, reason: `v${version}` });
  await writer.change({ action: "promote", version: 1, actor, reason: "first champion" });
  await writer.change({ action: "shadow", version: 2, actor, reason: "watch v2" });
  const labelSchema = readSchema("label-event.avsc");
  const labelsTopic = pipelineTopics(name).labels;
  const labelId = await h.registry.register(`${labelsTopic}-value`, labelSchema);
  const labelType = parseAvroSchema(labelSchema);
  const codec = createAvroCodec(h.registry.resolve);

  const where = `pipeline = '${name}'`;
  const count = async (table: string, extra = "") => {
    const [row] = await h.clickhouse.query<{ n: string }>(
      `SELECT count() AS n FROM ${h.database}.${table} FINAL WHERE ${where} ${extra}`,
    );
    return Number(row?.n ?? 0);
  };
  const served = async (expected: Array<{ version: number; role: string }>) =>
    waitFor(
      `inference serving ${JSON.stringify(expected)}`,
      () => (JSON.stringify(h.inference?.scorer(name)?.roles.roles()) === JSON.stringify(expected) ? true : undefined),
      30_000,
    );

  /** Publishes the events and waits until each is decided; returns the decisions. */
  async function decide(events: ReturnType<typeof paymentsFrom>) {
    await h.client.publish(name, events);
    const ids = events.map((e) => `'${e.event_id}'`).join(",");
    await waitFor(
      "every event decided",
      async () => ((await count("predictions", `AND event_id IN (${ids})`)) >= events.length ? true : undefined),
      120_000,
    );
    return h.clickhouse.query<{
      event_id: string;
      model_version: number;
      model_role: string;
      score: number;
      w: string;
    }>(
      `SELECT event_id, model_version, model_role, score, toString(intDiv(event_time_ms, ${windowMs})) AS w
       FROM ${h.database}.predictions FINAL WHERE ${where} AND event_id IN (${ids})`,
    );
  }

  /**
   * Labels each window's events by their rank in `scores` (0 lowest, 1 highest): "1" where
   * `positive(rank)` holds. Waits until they are stored.
   */
  async function label(
    scored: Array<{ event_id: string; score: number; w: string }>,
    positive: (rank: number) => boolean,
  ) {
    const byWindow = new Map<string, typeof scored>();
    for (const s of scored) byWindow.set(s.w, [...(byWindow.get(s.w) ?? []), s]);
    const labels: Array<{ event_id: string; label: string }> = [];
    for (const rows of byWindow.values()) {
      const sorted = [...rows].sort(
        (a, b) => Number(a.score) - Number(b.score) || a.event_id.localeCompare(b.event_id),
      );
      sorted.forEach((row, i) => {
        labels.push({ event_id: row.event_id, label: positive(i / sorted.length) ? "1" : "0" });
      });
    }
    const before = await count("labels");
    await h.producer.send({
      topic: labelsTopic,
      acks: -1,
      messages: labels.map((l) => ({
        key: l.event_id,
        value: codec.encode(labelId, labelType, { ...l, label_time: Date.now() }),
      })),
    });
    await waitFor(
      "every label stored",
      async () => ((await count("labels")) >= before + labels.length ? true : undefined),
      60_000,
    );
  }

  /** Runs quality passes until the monitor's events on the log satisfy `done`. */
  async function monitorWrites(what: string, done: (events: ModelEvent[]) => boolean): Promise<ModelEvent[]> {
    return waitFor(
      what,
      async () => {
        await h.monitor?.qualityJobs()[0]?.runOnce();
        const events = (await readModelEvents(h.kafka, name)).filter((e) => e.actor === "monitor");
        return done(events) ? events : undefined;
      },
      60_000,
    );
  }

  async function rocAuc(version: number): Promise<number[]> {
    const rows = await h.clickhouse.query<{ value: number }>(
      `SELECT value FROM ${h.database}.model_quality FINAL
       WHERE ${where} AND metric = 'roc_auc' AND model_version = ${version} ORDER BY window_start`,
    );
    return rows.map((r) => Number(r.value));
  }

  await served([
    { version: 1, role: "champion" },
    { version: 2, role: "shadow" },
  ]);
  return { h, name, where, count, served, decide, label, monitorWrites, rocAuc };
}

type Running = Awaited<ReturnType<typeof startWithShadow>>;

/** Two one-minute windows 20 minutes ago where the shadow ranks better: ROC AUC about 0.4 for 1, 0.6 for 2. */
async function shadowWins(t: Running) {
  const start = Math.floor((Date.now() - 20 * windowMs) / windowMs) * windowMs;
  const decided = await t.decide(paymentsFrom(11, start, 2 * 60 * rate));
  expect(decided.every((d) => Number(d.model_version) === 1 && d.model_role === "champion")).toBe(true);
  // By version 1's score: its lowest 30% and its highest 20% are fraud.
  await t.label(decided, (rank) => rank < 0.3 || rank >= 0.8);
}

describe("automatic promotion and rollback", () => {
  let t: Running;
  beforeAll(async () => {
    t = await startWithShadow(true);
  });
  afterAll(async () => {
    await t?.h.stop();
  });

  it("promotes a shadow that wins on labelled windows, then rolls it back when it falls short as champion", async () => {
    await shadowWins(t);
    const promoted = await t.monitorWrites("the monitor's promotion", (events) =>
      events.some((e) => e.kind === "promote"),
    );
    expect(promoted.map((e) => `${e.kind} ${e.version} ${e.fromState}→${e.toState}`)).toEqual([
      "promote 2 shadow→champion",
      "promote 1 champion→registered",
    ]);
    const promotion = promoted[0] as ModelEvent;
    const [v1, v2] = [await t.rocAuc(1), await t.rocAuc(2)];
    expect(promotion.evidence).toMatchObject({ metric: "roc_auc", candidate: 2, champion: 1, shadowWindows: 2 });
    const evidenceWindows = promotion.evidence.windows as Array<{
      windowStart: number;
      candidate: { value: number; labelled: number };
      champion: { value: number; labelled: number };
    }>;
    // The evidence is the quality job's numbers, window by window.
    expect(evidenceWindows.map((w) => w.champion.value)).toEqual(v1);
    expect(evidenceWindows.map((w) => w.candidate.value)).toEqual(v2);
    expect(evidenceWindows.every((w) => w.candidate.labelled === 300 && w.champion.labelled === 300)).toBe(true);
    expect(Number(promotion.evidence.gain)).toBeGreaterThan(0.05);
    expect(promotion.reason).toContain("beats it by");

    // Version 2 decides every event from the transactions after the change.
    await t.served([{ version: 2, role: "champion" }]);
    const after = Math.ceil((promotion.at + 1) / windowMs) * windowMs;
    const decided = await t.decide(paymentsFrom(12, after, 2 * 60 * rate));
    expect(decided.every((d) => Number(d.model_version) === 2 && d.model_role === "champion")).toBe(true);

    // Its first two windows as champion: its lowest 20% are fraud, so it ranks them worst (AUC near 0).
    await t.label(decided, (rank) => rank < 0.2);
    const rolledBack = await t.monitorWrites("the monitor's rollback", (events) =>
      events.some((e) => e.kind === "rollback"),
    );
    const rollback = rolledBack.filter((e) => e.kind === "rollback");
    expect(rollback.map((e) => `${e.version} ${e.fromState}→${e.toState}`)).toEqual([
      "2 champion→retired",
      "1 registered→champion",
    ]);
    expect(rollback[0]?.evidence).toMatchObject({
      comparison: "windows before the promotion",
      newChampion: 2,
      oldChampion: 1,
      promotionChangeId: promotion.changeId,
    });
    // Version 1 no longer scores: its baseline is its last two windows before the promotion.
    expect(rollback[0]?.evidence.oldWindows).toEqual(
      evidenceWindows.map((w) => ({ windowStart: w.windowStart, value: w.champion.value, labelled: 300 })),
    );
    expect(rollback[0]?.reason).toContain("falls short by");

    await t.served([{ version: 1, role: "champion" }]);
    const back = await t.decide(paymentsFrom(13, Math.floor(Date.now() / windowMs) * windowMs, 50));
    expect(back.every((d) => Number(d.model_version) === 1 && d.model_role === "champion")).toBe(true);

    // Once: further passes change nothing, and every step is in the audit table.
    await t.h.monitor?.qualityJobs()[0]?.runOnce();
    expect((await readModelEvents(t.h.kafka, t.name)).filter((e) => e.actor === "monitor")).toHaveLength(4);
    await waitFor(
      "the monitor's changes in model_events",
      async () => ((await t.count("model_events", "AND actor = 'monitor'")) === 4 ? true : undefined),
      60_000,
    );
    const audit = await t.h.clickhouse.query<{ kind: string; version: number; to_state: string; evidence: string }>(
      `SELECT kind, version, to_state, evidence FROM ${t.h.database}.model_events FINAL
       WHERE ${t.where} AND actor = 'monitor' ORDER BY source_offset`,
    );
    expect(audit.map((a) => `${a.kind} ${a.version} ${a.to_state}`)).toEqual([
      "promote 2 champion",
      "promote 1 registered",
      "rollback 2 retired",
      "rollback 1 champion",
    ]);
    expect(JSON.parse(audit[0]?.evidence ?? "{}")).toEqual(promotion.evidence);
  });
});

describe("promotion left to a person", () => {
  let t: Running;
  beforeAll(async () => {
    t = await startWithShadow(false);
  });
  afterAll(async () => {
    await t?.h.stop();
  });

  it("only recommends the winning shadow, once, with the evidence in model_events", async () => {
    await shadowWins(t);
    const events = await t.monitorWrites("the monitor's recommendation", (e) =>
      e.some((x) => x.kind === "promotion-recommended"),
    );
    expect(events.map((e) => `${e.kind} ${e.version}`)).toEqual(["promotion-recommended 2"]);
    expect(events[0]?.evidence).toMatchObject({ candidate: 2, champion: 1, metric: "roc_auc" });
    await t.h.monitor?.qualityJobs()[0]?.runOnce();
    const log = await readModelEvents(t.h.kafka, t.name);
    expect(log.filter((e) => e.actor === "monitor")).toHaveLength(1);
    // Nothing changed: version 1 still decides, version 2 still shadows.
    await t.served([
      { version: 1, role: "champion" },
      { version: 2, role: "shadow" },
    ]);
    await waitFor(
      "the recommendation in model_events",
      async () =>
        (await t.count("model_events", "AND kind = 'promotion-recommended' AND version = 2 AND actor = 'monitor'")) ===
        1
          ? true
          : undefined,
      60_000,
    );
  });
});
