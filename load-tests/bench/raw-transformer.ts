// The transformer's own work as a raw limit: the stage's `process()` on the raw records with no
// Kafka around it. It decodes the raw record, cleans it, hashes the personal fields with the keyed
// hash, de-duplicates against and updates the per-card state, computes the rolling features,
// encodes the features record and the changelog record: everything the stage does between a
// fetch and a transaction, in the stage's batch size.
import type { Message } from "../../services/shared/kafka/client.ts";
import type { PipelineDefinition } from "../../services/shared/pipeline/definition.ts";
import type { PipelineSchemaIds } from "../../services/shared/pipeline/records.ts";
import { asFetched, benchTransformer, type RecordTypes } from "./fixtures.ts";
import { repeat } from "./runs.ts";
import type { Summary } from "./stats.ts";

export async function measureTransformerWork(
  definition: PipelineDefinition,
  types: RecordTypes,
  ids: PipelineSchemaIds,
  raw: readonly Message[],
  options: { batch: number; runs: number; log: (line: string) => void },
): Promise<Summary> {
  const now = Date.now();
  const messages = asFetched(raw, now);
  return repeat("transformer work", options, () => {
    // A fresh state each run: a second pass over the same events would only find duplicates.
    const transformer = benchTransformer(definition, types, ids, now);
    const started = performance.now();
    let produced = 0;
    for (let start = 0; start < messages.length; start += options.batch) {
      const [features] = transformer.process(0, messages.slice(start, start + options.batch));
      produced += features?.messages.length ?? 0;
    }
    const seconds = (performance.now() - started) / 1000;
    if (produced !== messages.length) {
      throw new Error(`transformer work made ${produced} of ${messages.length} feature records`);
    }
    return messages.length / seconds;
  });
}
