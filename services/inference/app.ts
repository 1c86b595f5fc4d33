// The inference HTTP API on :8081.
// - `POST /predict {"input": [5.1, 3.5, 1.4, 0.2]}` → `{"prediction": [0]}`: the plain form used by
//   common MLOps tutorials, answered by the model of INFERENCE_PREDICT_PIPELINE (iris by default).
//   `input` may also be a list of rows.
// - `POST /v1/pipelines/:pipeline/predict {"features": {...}}` or `{"instances": [{...}, ...]}`:
//   named features for any pipeline, answered with labels, scores and probabilities.
// - `GET /v1/models`, `POST /v1/models/reload`: versions in use; look for newer ones now.
// - The model registry: models-api.ts.
import Fastify, { type FastifyInstance } from "fastify";
import type { Registry } from "../shared/metrics.ts";
import { type Readiness, registerOpsRoutes } from "../shared/ops-routes.ts";
import type { LoadedModel } from "./model.ts";
import { type ModelsApiDeps, registerModelRoutes } from "./models-api.ts";
import type { InferenceService } from "./service.ts";

class RequestError extends Error {}

function rowsFromInput(input: unknown, width: number): number[][] {
  if (!Array.isArray(input) || input.length === 0) {
    throw new RequestError(`input: expected an array of ${width} numbers (or an array of such arrays)`);
  }
  const rows = Array.isArray(input[0]) ? (input as unknown[]) : [input];
  return rows.map((row, r) => {
    const where = rows.length > 1 ? `input[${r}]` : "input";
    if (!Array.isArray(row)) throw new RequestError(`${where}: expected an array of ${width} numbers`);
    if (row.length !== width) throw new RequestError(`${where}: expected ${width} numbers, got ${row.length}`);
    return row.map((value, c) => {
      if (typeof value !== "number" || !Number.isFinite(value)) {
        throw new RequestError(`${where}[${c}]: expected a finite number, got ${JSON.stringify(value)}`);
      }
      return value;
    });
  });
}

function rowsFromNamed(body: unknown, featureOrder: readonly string[]): number[][] {
  const payload = body as { features?: unknown; instances?: unknown } | null;
  const instances = payload?.instances ?? (payload?.features === undefined ? undefined : [payload.features]);
  if (!Array.isArray(instances) || instances.length === 0) {
    throw new RequestError('body: expected {"features": {name: number, ...}} or {"instances": [{...}, ...]}');
  }
  return instances.map((instance, r) => {
    if (instance === null || typeof instance !== "object" || Array.isArray(instance)) {
      throw new RequestError(`instances[${r}]: expected an object of named features`);
    }
    const named = instance as Record<string, unknown>;
    const unknown = Object.keys(named).filter((k) => !featureOrder.includes(k));
    if (unknown.length > 0) throw new RequestError(`instances[${r}]: unknown features ${unknown.join(", ")}`);
    return featureOrder.map((name) => {
      const value = named[name];
      if (typeof value !== "number" || !Number.isFinite(value)) {
        throw new RequestError(
          `instances[${r}].${name}: expected a finite number, got ${JSON.stringify(value) ?? "nothing"}`,
        );
      }
      return value;
    });
  });
}

async function score(model: LoadedModel, rows: number[][]) {
  const width = model.manifest.input.width;
  const matrix = new Float32Array(rows.length * width);
  rows.forEach((row, r) => {
    matrix.set(row, r * width);
  });
  return model.score(matrix, rows.length);
}

/** Class labels that are integers go back as numbers, as scikit-learn's predict() returns them. */
function asPrediction(label: string): string | number {
  return /^-?\d+$/.test(label) ? Number(label) : label;
}

export function buildInferenceApp(deps: {
  service: InferenceService;
  predictPipeline: string;
  pipelines: readonly string[];
  registry: Registry;
  readiness: Readiness;
  /** The registry's routes; left out, the API only scores. */
  models?: Omit<ModelsApiDeps, "service">;
}): FastifyInstance {
  const app = Fastify({ logger: false, bodyLimit: 1_048_576 });
  registerOpsRoutes(app, deps.registry, deps.readiness);
  app.setErrorHandler((error: { statusCode?: number; code?: string; message: string }, _request, reply) => {
    const status = error instanceof RequestError ? 400 : (error.statusCode ?? 500);
    return reply.code(status).send({
      error: error instanceof RequestError ? "REQUEST_INVALID" : (error.code ?? "ERROR"),
      message: error.message,
    });
  });

  function modelOf(pipeline: string): LoadedModel {
    const scorer = deps.service.scorer(pipeline);
    if (!scorer)
      throw Object.assign(new Error(`no pipeline named "${pipeline}"`), { statusCode: 404, code: "UNKNOWN_PIPELINE" });
    // The champion answers direct requests: canary and shadows are for the stream.
    const model = scorer.roles.current?.champion;
    if (!model) {
      const problem = scorer.roles.problem ?? scorer.store.problem;
      throw Object.assign(new Error(`no model loaded: ${problem}`), { statusCode: 503, code: "NO_MODEL" });
    }
    return model;
  }

  app.post("/predict", async (request) => {
    const model = modelOf(deps.predictPipeline);
    const body = request.body as { input?: unknown } | null;
    if (body === null || typeof body !== "object" || !("input" in body)) {
      throw new RequestError(`body: expected {"input": [${model.manifest.input.width} numbers]}`);
    }
    const result = await score(model, rowsFromInput(body.input, model.manifest.input.width));
    return { prediction: result.labels.map(asPrediction) };
  });

  app.post<{ Params: { pipeline: string } }>("/v1/pipelines/:pipeline/predict", async (request) => {
    const model = modelOf(request.params.pipeline);
    const { manifest } = model;
    const result = await score(model, rowsFromNamed(request.body, manifest.featureOrder));
    const classes = manifest.classLabels.length;
    const positive = manifest.positiveClass === undefined ? -1 : manifest.classLabels.indexOf(manifest.positiveClass);
    return {
      model: manifest.name,
      version: manifest.version,
      predictions: result.labels.map((label, r) => {
        const probabilities = Array.from(result.probabilities.subarray(r * classes, (r + 1) * classes));
        return {
          label,
          className: manifest.classNames[manifest.classLabels.indexOf(label)],
          score: positive >= 0 ? probabilities[positive] : Math.max(...probabilities),
          probabilities: Object.fromEntries(manifest.classLabels.map((c, i) => [c, probabilities[i]])),
        };
      }),
    };
  });

  app.get("/v1/models", async () => ({
    models: deps.pipelines.map((pipeline) => {
      const scorer = deps.service.scorer(pipeline);
      const manifest = scorer?.roles.current?.champion.manifest;
      return {
        pipeline,
        model: manifest?.name,
        version: manifest?.version,
        roles: scorer?.roles.roles() ?? [],
        problem: scorer?.roles.problem ?? scorer?.store.problem,
      };
    }),
  }));

  app.post("/v1/models/reload", async () => {
    await deps.service.refreshModels();
    return { reloaded: true };
  });

  if (deps.models) registerModelRoutes(app, { ...deps.models, service: deps.service });

  return app;
}
