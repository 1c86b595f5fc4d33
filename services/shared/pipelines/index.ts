// Every shipped pipeline, by name.
import { StreamscoreError } from "../errors.ts";
import type { PipelineDefinition } from "../pipeline/definition.ts";
import { iris } from "./iris.ts";
import { payments } from "./payments.ts";

export const pipelines: ReadonlyMap<string, PipelineDefinition> = new Map([payments, iris].map((p) => [p.name, p]));

export function getPipeline(name: string): PipelineDefinition {
  const pipeline = pipelines.get(name);
  if (!pipeline) {
    throw new StreamscoreError(
      "CONFIG_INVALID",
      `unknown pipeline "${name}" (known: ${[...pipelines.keys()].join(", ")})`,
    );
  }
  return pipeline;
}
