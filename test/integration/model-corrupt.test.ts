// A corrupt model file at start-up: the inference service stays not ready (/readyz 503) and
// consumes nothing — its group commits no offset, nothing is scored — until a good file is put in
// place; then it becomes ready and scores the backlog, each record once.
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildInferenceApp } from "../../services/inference/app.ts";
import { paymentEvents } from "../../services/producer/generator/payments.ts";
import { createRegistry } from "../../services/shared/metrics.ts";
import { pipelineTopics } from "../../services/shared/pipeline/definition.ts";
import { payments } from "../../services/shared/pipelines/payments.ts";
import { projectRoot } from "../../services/shared/project.ts";
import { waitFor } from "../helpers/integration.ts";
import { type PipelineHarness, startPipelineHarness } from "../helpers/pipeline-harness.ts";

describe("inference with a corrupt model file", () => {
  const modelsRoot = mkdtempSync(join(tmpdir(), "models-corrupt-"));
  const modelFile = join(modelsRoot, payments.model.directory, "1", "model.onnx");
  let good: Buffer;
  let h: PipelineHarness;
  let api: FastifyInstance;

  beforeAll(async () => {
    cpSync(join(projectRoot, payments.model.directory, "1"), join(modelsRoot, payments.model.directory, "1"), {
      recursive: true,
    });
    good = readFileSync(modelFile);
    const corrupt = Buffer.from(good);
    corrupt.fill(0x42, Math.floor(corrupt.length / 2), Math.floor(corrupt.length / 2) + 64);
    writeFileSync(modelFile, corrupt);
    h = await startPipelineHarness({ base: "payments", modelsRoot });
    const inference = h.inference;
    if (!inference) throw new Error("the harness runs inference in this process");
    api = buildInferenceApp({
      service: inference,
      predictPipeline: h.definition.name,
      pipelines: [h.definition.name],
      registry: createRegistry("inference-api"),
      readiness: inference,
    });
  });
  afterAll(async () => {
    await api?.close();
    await h?.stop();
  });

  it("stays not ready and consumes nothing until a good model is in place, then scores the backlog once", async () => {
    const name = h.definition.name;
    const topics = pipelineTopics(name);
    const groupId = `streamscore-inference-${name}`;
    const readyz = async () => api.inject({ method: "GET", url: "/readyz" });
    const count = async (sql: string) => Number((await h.clickhouse.query<{ n: string }>(sql))[0]?.n ?? 0);
    const admin = h.kafka.admin();
    await admin.connect();
    try {
      const notReady = await readyz();
      expect(notReady.statusCode).toBe(503);
      expect(notReady.json().reason).toMatch(/model version 1 failed to load/);

      const events = paymentEvents(300, 81, Date.now() - 3_600_000);
      expect((await h.client.publish(name, events)).accepted).toBe(300);
      const featuresOut = async () => {
        const metric = h.metrics.transformer?.getSingleMetric("streamscore_records_out_total");
        const values = (await metric?.get())?.values ?? [];
        return values.reduce((sum, v) => sum + v.value, 0);
      };
      await waitFor("the transformer's feature records", async () => ((await featuresOut()) >= 300 ? true : undefined));

      // The backlog waits on the features topic: no committed offset, nothing scored, still 503.
      const [committed] = await admin.fetchOffsets({ groupId, topics: [topics.features] });
      expect(committed?.partitions.map((p) => p.offset).every((o) => o === "-1")).toBe(true);
      const scored = await admin.fetchTopicOffsets(topics.scored);
      expect(scored.every((o) => o.high === "0")).toBe(true);
      expect((await readyz()).statusCode).toBe(503);
      const predict = await api.inject({
        method: "POST",
        url: `/v1/pipelines/${name}/predict`,
        payload: { instances: [{}] },
      });
      expect(predict.statusCode).toBe(503);

      // The operator replaces the file in place; the next model check picks it up.
      writeFileSync(modelFile, good);
      await h.inference?.refreshModels();
      await waitFor("inference ready", async () => ((await readyz()).statusCode === 200 ? true : undefined), 60_000);
      const where = `pipeline = '${name}'`;
      await waitFor(
        "the backlog scored and stored",
        async () =>
          (await count(`SELECT count() AS n FROM ${h.database}.predictions WHERE ${where}`)) >= 300 ? true : undefined,
        120_000,
      );
      expect(await count(`SELECT count() AS n FROM ${h.database}.predictions WHERE ${where}`)).toBe(300);
      expect(await count(`SELECT count() AS n FROM ${h.database}.dead_letters WHERE ${where}`)).toBe(0);
    } finally {
      await admin.disconnect();
    }
  });
});
