// `npm run models -- retrain` on the real broker and ClickHouse. Payments are generated and run
// through the transformer's own feature code, stored as the sink stores them (RowBinary, the
// production migrations, in a database of the test's own), and labelled: before the "drift" by the
// generator's fraud bursts (what the shipped champion learnt), after it by a new fraud pattern the
// champion never saw (small card-present payments at fuel stations). Retrained on the post-drift
// window, the candidate must beat the champion measurably on the same holdout and go to shadow;
// retrained on pre-drift data it cannot beat the champion and is rejected; too few rows and a held
// lock are refused. The test scores both models itself and recomputes the training data's hash from
// what it seeded, so a trainer that ignored the window, or the new labels, would fail it.
import { createHash } from "node:crypto";
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadModel } from "../../services/inference/model.ts";
import { labelRow, labelsTable, predictionRow, predictionsTable } from "../../services/monitor/rows.ts";
import { rocAuc } from "../../services/monitor/windowing/quality.ts";
import { paymentStream } from "../../services/producer/generator/payments.ts";
import { type ClickHouse, createClickHouse } from "../../services/shared/clickhouse/client.ts";
import { migrate } from "../../services/shared/clickhouse/migrations.ts";
import { encodeRows } from "../../services/shared/clickhouse/row-binary.ts";
import { createKafka } from "../../services/shared/kafka/client.ts";
import { readModelEvents } from "../../services/shared/kafka/model-log.ts";
import { createLogger } from "../../services/shared/logger.ts";
import { foldEvents } from "../../services/shared/model/lifecycle.ts";
import { readManifest } from "../../services/shared/model/manifest.ts";
import { featureNames } from "../../services/shared/pipeline/definition.ts";
import { merchantCategories, payments } from "../../services/shared/pipelines/payments.ts";
import { projectRoot } from "../../services/shared/project.ts";
import { stateRetention } from "../../services/transformer/entity-state.ts";
import { transformEvent } from "../../services/transformer/transform-event.ts";
import type { RetrainReport } from "../../tools/models/retrain.ts";
import { eventBucket, type LabelledRow, splitByEventId, toCsv } from "../../tools/models/retrain-plan.ts";
import { trainingPython } from "../../tools/training/training-venv.ts";
import { testConnectionConfig, uniqueName } from "../helpers/integration.ts";
import { runScript, type ScriptRun } from "../helpers/run-script.ts";

const connection = testConnectionConfig();
const name = uniqueName("t-retrain").replace(/_/g, "-").toLowerCase();
const p = ["--pipeline", `${name}=payments`];
const database = uniqueName("retrain");
const modelsRoot = mkdtempSync(join(tmpdir(), "model-retrain-"));
const modelDir = join(modelsRoot, payments.model.directory);
const order = featureNames(payments);
const column = (feature: string) => order.indexOf(feature);

// Fixed event times, so every run sees the same data (hour of day and weekday are features): a
// Thursday, as the champion's training data. The first hour warms up the rolling card features.
const hour = 3_600_000;
const start = Date.UTC(2026, 0, 8, 8);
const preDrift = { since: start + hour, until: start + 2 * hour };
const postDrift = { since: start + 2 * hour, until: start + 4 * hour };
const iso = (ms: number) => new Date(ms).toISOString();

interface Seeded {
  id: string;
  time: number;
  features: number[];
  label: number | undefined;
}

/** The new fraud pattern: small card-present payments at fuel stations; 1% of labels are noise. */
function postDriftLabel(id: string, features: number[]): number {
  const fraud =
    features[column("channel_pos")] === 1 &&
    features[column("merchant_category")] === merchantCategories.indexOf("fuel") &&
    (features[column("amount")] as number) < 50;
  const noise = eventBucket(`${id}/noise`) < 0.01;
  return fraud !== noise ? 1 : 0;
}

function seed(): Seeded[] {
  const path = { definition: payments, retention: stateRetention(payments) };
  const states = new Map();
  const out: Seeded[] = [];
  for (const { event, label } of paymentStream({
    seed: 20261207,
    startTime: start,
    ratePerSecond: 2,
    // Fixed ids (the database is the test's own): the noise, the unlabelled events and the
    // train/holdout split hash the event id, so every run sees the same rows and the same numbers.
    idPrefix: "retrain-e",
  })) {
    if (event.event_time >= postDrift.until) break;
    const outcome = transformEvent(path, states, event as unknown as Record<string, unknown>, event.event_time);
    if (outcome.kind !== "transformed" || event.event_time < preDrift.since) continue;
    const id = event.event_id;
    // Some events never get a label: they are scored but cannot be trained on.
    const unlabelled = eventBucket(`${id}/unlabelled`) < 0.03;
    const actual = event.event_time < postDrift.since ? label : postDriftLabel(id, outcome.features);
    out.push({ id, time: event.event_time, features: outcome.features, label: unlabelled ? undefined : actual });
  }
  return out;
}

const seeded = seed();
const labelled = (window: { since: number; until: number }) =>
  seeded.filter((s) => s.label !== undefined && s.time >= window.since && s.time < window.until);

/** What the trainer should have exported for a window: its labelled events in (time, id) order. */
function expectedRows(window: { since: number; until: number }): LabelledRow[] {
  return labelled(window)
    .map((s) => ({ eventId: s.id, eventTime: s.time, features: s.features, label: s.label as number }))
    .sort((a, b) => a.eventTime - b.eventTime || (a.eventId < b.eventId ? -1 : a.eventId > b.eventId ? 1 : 0));
}

function models(args: string[]): Promise<ScriptRun> {
  return runScript("tools/models/cli.ts", args, {
    KAFKA_BROKERS: connection.KAFKA_BROKERS.join(","),
    SCHEMA_REGISTRY_URL: connection.SCHEMA_REGISTRY_URL,
    CLICKHOUSE_URL: connection.CLICKHOUSE_URL,
    CLICKHOUSE_USER: connection.CLICKHOUSE_USER,
    CLICKHOUSE_PASSWORD: connection.CLICKHOUSE_PASSWORD,
    CLICKHOUSE_DATABASE: database,
    MODELS_ROOT: modelsRoot,
  });
}

function retrain(window: { since: number; until: number }, extra: string[] = []) {
  const workDir = mkdtempSync(join(modelsRoot, "work-"));
  return {
    workDir,
    result: models([
      "retrain",
      ...p,
      "--since",
      iso(window.since),
      "--until",
      iso(window.until),
      "--min-rows",
      "1000",
      "--work-dir",
      workDir,
      "--json",
      ...extra,
    ]),
  };
}

function reportOf(out: string): RetrainReport {
  return JSON.parse(out.trim().split("\n").at(-1) as string) as RetrainReport;
}

/** ROC AUC of a model folder on rows, scored here with the inference adapter, not by the tool. */
async function aucOf(versionDir: string, rows: readonly LabelledRow[]): Promise<number> {
  const model = await loadModel(versionDir);
  try {
    const width = model.manifest.featureOrder.length;
    const matrix = new Float32Array(rows.length * width);
    rows.forEach((row, r) => {
      model.manifest.featureOrder.forEach((feature, j) => {
        matrix[r * width + j] = row.features[column(feature)] as number;
      });
    });
    const scores = await model.score(matrix, rows.length);
    const positive = model.manifest.classLabels.indexOf(model.manifest.positiveClass as string);
    return rocAuc(
      rows.map((row, i) => ({
        predicted: scores.labels[i] as string,
        actual: String(row.label),
        score: scores.probabilities[i * 2 + positive] as number,
      })),
      "1",
    );
  } finally {
    await model.release();
  }
}

let clickhouse: ClickHouse;

beforeAll(async () => {
  // The venv the command will use, made the same way (a no-op when it is current).
  await trainingPython();
  clickhouse = createClickHouse(connection);
  await migrate(clickhouse, database);
  const predictions = seeded.map((s, i) =>
    predictionRow(
      {
        event_id: s.id,
        pipeline: name,
        entity: `card-${i % 200}`,
        event_time: s.time,
        ingest_time: s.time + 100,
        transform_time: s.time + 110,
        score_time: s.time + 120,
        model_name: payments.model.name,
        model_version: 1,
        label: "0",
        score: 0.01,
        class_labels: ["0", "1"],
        probabilities: [0.99, 0.01],
        features: s.features,
      },
      order,
      0,
      String(i),
      s.time + 200,
    ),
  );
  const labels = seeded.flatMap((s, i) =>
    s.label === undefined
      ? []
      : [labelRow(name, { event_id: s.id, label: String(s.label), label_time: s.time + 60_000 }, 0, String(i))],
  );
  await clickhouse.insertRowBinary(`${database}.predictions`, encodeRows(predictionsTable, predictions));
  await clickhouse.insertRowBinary(`${database}.labels`, encodeRows(labelsTable, labels));
  // Replayed rows (a sink retry, a redelivered label) must count once.
  await clickhouse.insertRowBinary(`${database}.predictions`, encodeRows(predictionsTable, predictions.slice(-300)));
  await clickhouse.insertRowBinary(`${database}.labels`, encodeRows(labelsTable, labels.slice(-300)));
  // Another pipeline's rows in the same window are not this pipeline's training data.
  await clickhouse.insertRowBinary(
    `${database}.predictions`,
    encodeRows(
      predictionsTable,
      predictions.slice(0, 500).map((row) => ({ ...row, pipeline: `${name}-other` })),
    ),
  );

  // The shipped model is the registered champion, as an operator would have set it up.
  cpSync(join(projectRoot, payments.model.directory, "1"), join(modelDir, "1"), { recursive: true });
  expect((await models(["register", join(modelDir, "1"), ...p, "--reason", "shipped model"])).code).toBe(0);
  expect((await models(["promote", "1", ...p, "--reason", "first champion"])).code).toBe(0);
}, 300_000);

afterAll(async () => {
  await clickhouse?.command(`DROP DATABASE IF EXISTS ${database}`);
  await clickhouse?.close();
  rmSync(modelsRoot, { recursive: true, force: true });
});

describe("npm run models -- retrain", () => {
  it("the seeded labels changed at the drift: the champion is good before it and poor after it", async () => {
    // The premise of the next test, checked on the seeded rows directly.
    const positives = labelled(postDrift).filter((s) => s.label === 1).length / labelled(postDrift).length;
    expect(positives).toBeGreaterThan(0.02);
    expect(positives).toBeLessThan(0.2);
    expect(await aucOf(join(modelDir, "1"), expectedRows(preDrift))).toBeGreaterThan(0.95);
    expect(await aucOf(join(modelDir, "1"), expectedRows(postDrift))).toBeLessThan(0.75);
  });

  it("trains on the post-drift window, beats the champion on the same holdout and registers the candidate in shadow", async () => {
    const { workDir, result } = retrain(postDrift);
    const { code, out, err } = await result;
    expect(err).not.toContain("refused");
    expect(code).toBe(0);
    const report = reportOf(out);

    // The rows: exactly the labelled post-drift events of this pipeline, each once.
    const expected = expectedRows(postDrift);
    expect(report.rows.exported).toBe(expected.length);
    expect(report.rows.usable).toBe(expected.length);
    expect(report.eventTime).toEqual({
      first: iso(expected[0]?.eventTime as number),
      last: iso(expected.at(-1)?.eventTime as number),
    });
    const { train, holdout } = splitByEventId(expected, 0.2);
    expect([report.rows.train, report.rows.holdout]).toEqual([train.length, holdout.length]);

    // The candidate's folder under the model root, its manifest naming the data it was fitted on.
    expect(report.version).toBe(2);
    const candidateDir = join(modelDir, "2");
    const manifest = readManifest(candidateDir);
    expect(manifest.version).toBe(2);
    const data = (manifest.trainer as { trainingData: Record<string, unknown> }).trainingData as {
      window: { since: string; until: string };
      eventTime: { first: string; last: string };
      rows: { train: number; holdout: number };
      sha256: { train: string; holdout: string };
    };
    expect(data.window).toEqual({ since: iso(postDrift.since), until: iso(postDrift.until) });
    expect(data.eventTime).toEqual(report.eventTime);
    expect(data.rows).toMatchObject({ train: train.length, holdout: holdout.length });
    const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");
    expect(data.sha256).toEqual({ train: sha256(toCsv(order, train)), holdout: sha256(toCsv(order, holdout)) });
    expect(readFileSync(join(workDir, "train.csv"), "utf8")).toBe(toCsv(order, train));
    expect(manifest.trainer.trainingRows).toBe(train.length);
    expect(manifest.trainer.estimator).toBe("GradientBoostingClassifier");
    expect(manifest.profile.rows).toBe(train.length);

    // The metric gap, as the tool reports it and as this test measures it itself.
    const champion = report.champion.overall.roc_auc as number;
    const candidate = report.candidate.overall.roc_auc as number;
    expect(report.champion.version).toBe(1);
    expect(candidate - champion).toBeGreaterThan(0.15);
    expect(candidate).toBeGreaterThan(0.9);
    expect(await aucOf(join(modelDir, "1"), holdout)).toBeCloseTo(champion, 9);
    expect(await aucOf(candidateDir, holdout)).toBeCloseTo(candidate, 9);
    // scikit-learn's AUC in the manifest agrees with onnxruntime-node's on the same holdout.
    expect((manifest.metrics as { holdout: { rocAuc: number } }).holdout.rocAuc).toBeCloseTo(candidate, 5);
    expect(report.gate.reasons).toEqual([]);
    expect(report.gate.pass).toBe(true);
    expect(report.decision).toBe("shadow");
    expect(report.seconds.toRegistered).toBeGreaterThan(report.seconds.training);
    expect(out).toMatch(/holdout roc_auc: champion v1 0\.\d{4}, candidate v2 0\.\d{4}/);
    expect(out).toMatch(/time from start to registered candidate: \d+\.\d s/);

    // The registry: registered, then shadowed with the gate's numbers; the champion stays.
    const kafka = createKafka(connection, createLogger({ name: "test", level: "silent" }), name);
    const events = await readModelEvents(kafka, name);
    const mine = events.filter((e) => e.version === 2);
    expect(mine.map((e) => [e.kind, e.toState])).toEqual([
      ["register", "registered"],
      ["shadow", "shadow"],
    ]);
    expect(mine[0]?.reason).toContain(`retrained on ${expected.length} labelled events`);
    expect(mine[1]?.reason).toContain("passes the validation gate: roc_auc");
    expect(mine[1]?.evidence).toMatchObject({ metric: "roc_auc", candidate, champion, holdoutRows: holdout.length });
    const deployment = foldEvents(name, events);
    expect(deployment.champion).toBe(1);
    expect(deployment.shadows).toEqual([2]);
    // The lock is gone once the run ends.
    expect(existsSync(join(modelDir, ".retrain.lock"))).toBe(false);
    console.log(`retrain figures: ${out.trim().split("\n").slice(-6, -1).join(" | ")}`);
  }, 240_000);

  it("rejects a candidate trained where the champion is still right, with the numbers", async () => {
    const { result } = retrain(preDrift);
    const { code, out } = await result;
    expect(code).toBe(0);
    const report = reportOf(out);
    expect(report.version).toBe(3);
    expect(report.rows.exported).toBe(labelled(preDrift).length);
    // The champion is within the margin of a perfect AUC here, so no candidate could beat it by the margin.
    expect(report.champion.overall.roc_auc).toBeGreaterThan(1 - (payments.retraining?.gate.margin ?? 0));
    expect(report.gate.pass).toBe(false);
    expect(report.decision).toBe("rejected");
    const events = await readModelEvents(
      createKafka(connection, createLogger({ name: "test", level: "silent" }), name),
      name,
    );
    const mine = events.filter((e) => e.version === 3);
    expect(mine.map((e) => [e.kind, e.toState])).toEqual([
      ["register", "registered"],
      ["reject", "rejected"],
    ]);
    expect(mine[1]?.reason).toMatch(/^fails the validation gate: roc_auc 0\.\d{4} does not beat the champion's/);
    expect(foldEvents(name, events).shadows).toEqual([2]);
  }, 240_000);

  it("refuses too few labelled rows and a lock another trainer holds, naming the problem", async () => {
    const few = await retrain(preDrift, ["--min-rows", "100000"]).result;
    expect(few.code).toBe(2);
    expect(few.err).toContain(`only ${labelled(preDrift).length} usable labelled events of ${name}`);
    expect(few.err).toContain("at least 100000 are needed");

    const empty = await retrain({ since: start - 10 * hour, until: start - 9 * hour }).result;
    expect(empty.code).toBe(2);
    expect(empty.err).toContain(`only 0 usable labelled events of ${name}`);

    const badWindow = await models(["retrain", ...p, "--since", "yesterday"]);
    expect(badWindow.code).toBe(2);
    expect(badWindow.err).toContain('--since "yesterday" is not a date');

    // This test process is alive: its lock must stop a second trainer.
    const lock = join(modelDir, ".retrain.lock");
    writeFileSync(
      lock,
      JSON.stringify({ pid: process.pid, host: hostname(), pipeline: name, startedAt: iso(Date.now()), token: "t" }),
    );
    try {
      const held = await retrain(postDrift).result;
      expect(held.code).toBe(2);
      expect(held.err).toContain(`another retrain of this model folder is running (pid ${process.pid}`);
    } finally {
      rmSync(lock);
    }
    // Nothing was trained or registered by the refused runs.
    expect(existsSync(join(modelDir, "4"))).toBe(false);
  }, 120_000);
});
