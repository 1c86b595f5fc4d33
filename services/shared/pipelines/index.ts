// Every shipped pipeline, by name. A PIPELINES entry may also run a shipped definition under
// another name, `name=definition` (e.g. `payments-shadow=payments`): its topics, consumer groups,
// transactional ids and ClickHouse rows then all carry the new name.
import { StreamscoreError } from "../errors.ts";
import { definePipeline, type PipelineDefinition } from "../pipeline/definition.ts";
import { iris } from "./iris.ts";
import { payments } from "./payments.ts";

export const pipelines: ReadonlyMap<string, PipelineDefinition> = new Map([payments, iris].map((p) => [p.name, p]));

export function getPipeline(entry: string): PipelineDefinition {
  const [name = "", base = name] = entry.split("=", 2).map((part) => part.trim());
  const pipeline = pipelines.get(base);
  if (!pipeline) {
    throw new StreamscoreError(
      "CONFIG_INVALID",
      `unknown pipeline "${base}" (known: ${[...pipelines.keys()].join(", ")})`,
    );
  }
  return name === base ? pipeline : definePipeline({ ...pipeline, name });
}
