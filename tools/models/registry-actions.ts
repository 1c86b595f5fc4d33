// The registry changes of the models CLI, as functions: `register` (check a version folder, copy it
// under the model root, append the event) and every other change through the model log's fenced
// writer. The CLI's commands and the trainer (`retrain`) both go through here, so a retrained
// candidate is checked, copied and recorded exactly as one registered by hand.
import { cpSync, existsSync, mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { loadModel } from "../../services/inference/model.ts";
import { readModelVersion } from "../../services/inference/model-file.ts";
import type { ConnectionConfig } from "../../services/shared/connection-settings.ts";
import { StreamscoreError } from "../../services/shared/errors.ts";
import { createKafka } from "../../services/shared/kafka/client.ts";
import { createModelLogWriter, readModelEvents } from "../../services/shared/kafka/model-log.ts";
import { createSchemaRegistry } from "../../services/shared/kafka/registry.ts";
import type { Logger } from "../../services/shared/logger.ts";
import { type ChangeRequest, foldEvents, type ModelEvent } from "../../services/shared/model/lifecycle.ts";
import { readManifest } from "../../services/shared/model/manifest.ts";
import { setUpPipeline } from "../../services/shared/pipeline/setup.ts";
import { getPipeline } from "../../services/shared/pipelines/index.ts";
import { projectRoot } from "../../services/shared/project.ts";

export interface RegistryActionsDeps {
  config: ConnectionConfig;
  logger: Logger;
  /** Who the audit trail names for every change. */
  actor: string;
  /** Where the lines a person reads go (the CLI prints them). */
  print: (line: string) => void;
}

export function createRegistryActions(deps: RegistryActionsDeps) {
  const { config, logger, actor, print } = deps;

  function context(pipeline: string) {
    const definition = getPipeline(pipeline);
    const kafka = createKafka(config, logger, "models-cli");
    const modelDir = join(config.MODELS_ROOT ?? projectRoot, definition.model.directory);
    return { definition, kafka, modelDir };
  }

  /** The pipeline's topics, the model log among them, exist before the log is read or written. */
  async function prepared(pipeline: string) {
    const ctx = context(pipeline);
    await setUpPipeline(ctx.kafka, createSchemaRegistry(config), ctx.definition);
    return ctx;
  }

  async function registry(pipeline: string) {
    const { kafka, definition } = await prepared(pipeline);
    const events = await readModelEvents(kafka, definition.name);
    return { events, deployment: foldEvents(definition.name, events) };
  }

  /**
   * Appends the change's events and prints them. A change the state does not allow fails with
   * MODEL_CHANGE_REFUSED (the refusal is in the log too), a concurrent one with MODEL_CHANGE_CONFLICT.
   */
  async function change(pipeline: string, request: Omit<ChangeRequest, "actor">): Promise<ModelEvent[]> {
    const { kafka, definition } = await prepared(pipeline);
    const { events } = await createModelLogWriter(kafka, definition.name, logger).change({ ...request, actor });
    for (const e of events) print(`${e.kind}: version ${e.version} ${e.fromState ?? "-"} → ${e.toState}`);
    return events;
  }

  /** Checks a version folder, copies it under the model root (where every inference instance loads it from), registers it. */
  async function register(
    pipeline: string,
    dir: string,
    reason: string,
    evidence: Record<string, unknown> = {},
  ): Promise<ModelEvent[]> {
    const { modelDir } = context(pipeline);
    const source = resolve(dir);
    const manifest = readManifest(source);
    // A pipeline run under another name (`name=definition`) takes the definition's models.
    const base = (pipeline.split("=", 2)[1] ?? pipeline).trim();
    if (manifest.pipeline !== getPipeline(pipeline).name && manifest.pipeline !== base) {
      throw new StreamscoreError(
        "REQUEST_INVALID",
        `the manifest is for pipeline ${manifest.pipeline}, not ${pipeline}`,
      );
    }
    readModelVersion(source);
    // The same checks serving makes: onnxruntime loads it, the outputs exist, a warm-up run scores.
    const model = await loadModel(source);
    await model.release();
    const target = join(modelDir, String(manifest.version));
    if (resolve(target) !== source) {
      if (existsSync(target)) {
        throw new StreamscoreError(
          "REQUEST_INVALID",
          `${target} exists already: a version number is never reused for other files`,
        );
      }
      mkdirSync(modelDir, { recursive: true });
      cpSync(source, target, { recursive: true });
      print(`copied ${source} → ${target}`);
    }
    return change(pipeline, {
      action: "register",
      version: manifest.version,
      reason,
      evidence: { manifest, ...evidence },
    });
  }

  return { context, prepared, registry, change, register };
}

export type RegistryActions = ReturnType<typeof createRegistryActions>;
