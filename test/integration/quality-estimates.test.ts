// Quality estimated before the labels arrive, on the real stack: three windows of payments are
// scored, and a quality pass stores estimated rows (kind 'estimated', metrics estimated_*) for
// every window while there is no label yet, and no realized metric but the labelled share. Labels
// then come for the first two windows: the next pass adds their realized rows beside the unchanged
// estimates, and the third window, still unlabelled, keeps its estimate alone. The estimates equal
// the estimator run on the stored predictions with the version's reference calibration, and are
// close to the realized values where the labels came.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { estimatedMetric } from "../../services/monitor/quality-job.ts";
import { estimateBinaryQuality, fitCalibrator } from "../../services/monitor/windowing/estimated-quality.ts";
import { type LabelledPayment, paymentStream } from "../../services/producer/generator/payments.ts";
import { createAvroCodec, parseAvroSchema } from "../../services/shared/kafka/avro-codec.ts";
import { pipelineTopics } from "../../services/shared/pipeline/definition.ts";
import { projectRoot } from "../../services/shared/project.ts";
import { readSchema } from "../../services/shared/schemas.ts";
import { uniqueName, waitFor } from "../helpers/integration.ts";
import { type PipelineHarness, startPipelineHarness } from "../helpers/pipeline-harness.ts";

const estimated = ["accuracy", "precision", "recall", "f1", "roc_auc"].map(estimatedMetric);

interface QualityRow {
  window_start: number;
  metric: string;
  value: number;
  labelled: string;
  predictions: string;
  kind: string;
}

describe("quality estimated before labels", () => {
  let h: PipelineHarness;

  beforeAll(async () => {
    h = await startPipelineHarness({ base: "payments" });
  });
  afterAll(async () => {
    await h?.stop();
  });

  it("stores estimates for windows without labels, and realized values beside them once labels come", async () => {
    const windowMs = h.definition.monitoring.windowSeconds * 1000;
    const windows = 3;
    // Recent enough that no window is past the label timeout (an hour), where the still missing
    // labels would be counted as `unlabelled`.
    const start = Math.floor((Date.now() - 45 * 60_000) / windowMs) * windowMs;
    const end = start + windows * windowMs;
    const items: LabelledPayment[] = [];
    for (const item of paymentStream({ seed: 57, startTime: start, ratePerSecond: 2, idPrefix: uniqueName("q") })) {
      if (item.event.event_time >= end) break;
      items.push(item);
    }
    for (let i = 0; i < items.length; i += 1000) {
      await h.client.publish(
        h.definition.name,
        items.slice(i, i + 1000).map((t) => t.event),
      );
    }
    const where = `pipeline = '${h.definition.name}'`;
    await waitFor(
      "every event scored",
      async () => {
        const [row] = await h.clickhouse.query<{ n: string }>(
          `SELECT count() AS n FROM ${h.database}.predictions FINAL WHERE ${where}`,
        );
        return Number(row?.n) >= items.length ? true : undefined;
      },
      120_000,
    );
    const quality = async () =>
      h.clickhouse.query<QualityRow>(
        `SELECT toUInt64(window_start) * 1000 AS window_start, metric, value, labelled, predictions, kind
         FROM ${h.database}.model_quality FINAL WHERE ${where} ORDER BY window_start, metric`,
      );
    const windowStarts = Array.from({ length: windows }, (_, i) => start + i * windowMs);
    const at = (rows: QualityRow[], window: number, kind: string) =>
      rows.filter((r) => Number(r.window_start) === window && r.kind === kind);

    // Before any label: estimates for every window, and of the realized metrics only the labelled share.
    await h.monitor?.qualityJobs()[0]?.runOnce();
    const before = await quality();
    for (const window of windowStarts) {
      expect(
        at(before, window, "estimated")
          .map((r) => r.metric)
          .sort(),
      ).toEqual([...estimated].sort());
      expect(at(before, window, "realized").map((r) => [r.metric, r.value])).toEqual([["labelled_share", 0]]);
    }

    // The estimates are the estimator's on the stored predictions, calibrated on version 1's reference.
    const reference = JSON.parse(
      readFileSync(
        join(projectRoot, "services", "inference", "models", "payments", "1", "reference-sample.json"),
        "utf8",
      ),
    ) as { labels: number[]; predictions: number[] };
    const calibrator = fitCalibrator(
      reference.predictions,
      reference.labels.map((l) => l === 1),
    );
    const scored = await h.clickhouse.query<{ event_time_ms: string; label: string; score: number }>(
      `SELECT event_time_ms, label, score FROM ${h.database}.predictions FINAL WHERE ${where}`,
    );
    for (const window of windowStarts) {
      const rows = scored
        .filter((r) => Number(r.event_time_ms) >= window && Number(r.event_time_ms) < window + windowMs)
        .map((r) => ({ predictedPositive: r.label === "1", score: Number(r.score) }));
      const expected = estimateBinaryQuality(rows, calibrator);
      for (const [metric, value] of Object.entries(expected)) {
        const stored = at(before, window, "estimated").find((r) => r.metric === estimatedMetric(metric));
        expect({ metric, value: stored?.value }).toEqual({ metric, value: expect.closeTo(value, 9) });
        expect(Number(stored?.predictions)).toBe(rows.length);
        expect(Number(stored?.labelled)).toBe(0);
      }
    }

    // Labels for the first two windows.
    const labelSchema = readSchema("label-event.avsc");
    const topics = pipelineTopics(h.definition.name);
    const labelId = await h.registry.register(`${topics.labels}-value`, labelSchema);
    const codec = createAvroCodec(h.registry.resolve);
    const labelType = parseAvroSchema(labelSchema);
    const truth = items.filter((t) => t.event.event_time < start + 2 * windowMs);
    await h.producer.send({
      topic: topics.labels,
      acks: -1,
      messages: truth.map((t) => ({
        key: t.event.event_id,
        value: codec.encode(labelId, labelType, {
          event_id: t.event.event_id,
          label: String(t.label),
          label_time: t.event.event_time + 3_600_000,
        }),
      })),
    });
    await waitFor(
      "every label in ClickHouse",
      async () => {
        const [row] = await h.clickhouse.query<{ n: string }>(
          `SELECT count() AS n FROM ${h.database}.labels FINAL WHERE ${where}`,
        );
        return Number(row?.n) >= truth.length ? true : undefined;
      },
      120_000,
    );

    await h.monitor?.qualityJobs()[0]?.runOnce();
    const after = await quality();
    for (const window of windowStarts) {
      const estimates = at(after, window, "estimated");
      // The estimates are unchanged by the labels: they read the scores alone.
      expect(estimates.map((r) => [r.metric, r.value])).toEqual(
        at(before, window, "estimated").map((r) => [r.metric, r.value]),
      );
      const realized = new Map(at(after, window, "realized").map((r) => [r.metric, r.value]));
      if (window < start + 2 * windowMs) {
        expect(realized.get("labelled_share")).toBe(1);
        for (const metric of ["accuracy", "roc_auc"]) {
          expect(realized.has(metric)).toBe(true);
          // How good the estimate was: the payments model is right on about 99% of events, and the
          // calibrated estimate of its accuracy lands within two points of the realized one.
          const estimate = estimates.find((r) => r.metric === estimatedMetric(metric))?.value as number;
          expect(Math.abs(estimate - (realized.get(metric) as number))).toBeLessThan(
            metric === "accuracy" ? 0.02 : 0.05,
          );
        }
      } else {
        expect([...realized.keys()]).toEqual(["labelled_share"]);
      }
    }
  });
});
