// The inference HTTP API with the shipped iris model loaded by onnxruntime (no Kafka needed):
// the tutorial request, the named-feature form, and malformed requests.
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildInferenceApp } from "../../../services/inference/app.ts";
import { loadModel } from "../../../services/inference/model.ts";
import { createModelStore } from "../../../services/inference/model-store.ts";
import type { InferenceService } from "../../../services/inference/service.ts";
import { createServingRoles } from "../../../services/inference/serving.ts";
import { createLogger } from "../../../services/shared/logger.ts";
import { createRegistry } from "../../../services/shared/metrics.ts";
import { emptyDeployment } from "../../../services/shared/model/lifecycle.ts";
import { iris } from "../../../services/shared/pipelines/iris.ts";
import { payments } from "../../../services/shared/pipelines/payments.ts";
import { projectRoot } from "../../../services/shared/project.ts";

const logger = createLogger({ name: "test", level: "silent" });
const stores = new Map([
  ["iris", createModelStore(join(projectRoot, iris.model.directory), logger)],
  ["payments", createModelStore(join(projectRoot, payments.model.directory), logger)],
]);
// Nothing registered: each pipeline is served by its newest version folder, as without a registry.
const roles = new Map(
  [...stores].map(([pipeline, store]) => [
    pipeline,
    createServingRoles({
      modelDir: join(projectRoot, (pipeline === "iris" ? iris : payments).model.directory),
      fallback: store,
      load: (dir) => loadModel(dir),
      logger,
    }),
  ]),
);
const service = {
  scorer: (pipeline: string) => {
    const store = stores.get(pipeline);
    const definition = pipeline === "iris" ? iris : payments;
    return store ? { definition, store, roles: roles.get(pipeline), processor: undefined } : undefined;
  },
  refreshModels: async () => {},
} as unknown as InferenceService;
const app = buildInferenceApp({
  service,
  predictPipeline: "iris",
  pipelines: ["iris", "payments"],
  registry: createRegistry("test"),
  readiness: { notReadyReason: () => undefined },
});

async function post(url: string, body: unknown) {
  const response = await app.inject({ method: "POST", url, payload: body as object });
  return { status: response.statusCode, body: response.json() as Record<string, unknown> };
}

beforeAll(async () => {
  for (const [pipeline, store] of stores) {
    await store.refresh();
    await roles.get(pipeline)?.update(emptyDeployment(pipeline));
    roles.get(pipeline)?.takePending();
  }
});
afterAll(async () => {
  for (const store of stores.values()) await store.close();
});

describe("POST /predict", () => {
  it("answers the tutorial's request with the iris class as scikit-learn's predict() would", async () => {
    expect(await post("/predict", { input: [5.1, 3.5, 1.4, 0.2] })).toEqual({ status: 200, body: { prediction: [0] } });
  });

  it("scores several rows, one class each, across the three species", async () => {
    const { body } = await post("/predict", {
      input: [
        [5.1, 3.5, 1.4, 0.2],
        [6.0, 2.7, 4.2, 1.3],
        [6.9, 3.1, 5.8, 2.2],
      ],
    });
    expect(body.prediction).toEqual([0, 1, 2]);
  });

  it.each([
    [{}, /body: expected \{"input": \[4 numbers\]\}/],
    [{ input: [5.1, 3.5, 1.4] }, /input: expected 4 numbers, got 3/],
    [{ input: [5.1, "3.5", 1.4, 0.2] }, /input\[1\]: expected a finite number, got "3.5"/],
    [{ input: "5.1,3.5" }, /input: expected an array of 4 numbers/],
    [{ input: [] }, /input: expected an array/],
  ])("answers %j with a 400 naming the problem", async (body, message) => {
    const response = await post("/predict", body);
    expect(response.status).toBe(400);
    expect(response.body.error).toBe("REQUEST_INVALID");
    expect(String(response.body.message)).toMatch(message);
  });

  it("answers malformed JSON with a 400", async () => {
    const response = await app.inject({
      method: "POST",
      url: "/predict",
      payload: "{not json",
      headers: { "content-type": "application/json" },
    });
    expect(response.statusCode).toBe(400);
  });
});

describe("POST /v1/pipelines/:pipeline/predict", () => {
  it("scores named features with the pipeline's model and gives class probabilities that sum to 1", async () => {
    const manifest = stores.get("payments")?.current?.manifest;
    const features = Object.fromEntries(
      (manifest?.featureOrder ?? []).map((name) => [name, name === "amount" ? 42 : 0]),
    );
    const { status, body } = await post("/v1/pipelines/payments/predict", { features });
    expect({ status, message: body.message }).toEqual({ status: 200, message: undefined });
    expect(body).toMatchObject({ model: "payments-fraud", version: manifest?.version });
    const [prediction] = body.predictions as Array<{ probabilities: Record<string, number>; score: number }>;
    const total = Object.values(prediction?.probabilities ?? {}).reduce((a, b) => a + b, 0);
    expect(total).toBeCloseTo(1, 5);
    expect(prediction?.score).toBe(prediction?.probabilities["1"]);
  });

  it("names a missing or unknown feature", async () => {
    expect((await post("/v1/pipelines/payments/predict", { features: { amount: 1 } })).body.message).toMatch(
      /instances\[0\]\.log_amount: expected a finite number/,
    );
    expect((await post("/v1/pipelines/payments/predict", { features: { colour: 1 } })).body.message).toMatch(
      /unknown features colour/,
    );
  });

  it("answers 404 for an unknown pipeline", async () => {
    expect((await post("/v1/pipelines/nope/predict", { features: {} })).status).toBe(404);
  });
});
