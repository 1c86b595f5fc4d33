// Avro encode and decode through the project's codec (validation and wire framing included, as
// the services call it), for the raw, feature and scored records of one record set.
import type { Message } from "../../services/shared/kafka/client.ts";
import type { PipelineSchemaIds } from "../../services/shared/pipeline/records.ts";
import type { RecordSet, RecordTypes } from "./fixtures.ts";
import { rateOverSync, repeat } from "./runs.ts";
import type { Summary } from "./stats.ts";

export type AvroKind = "raw" | "features" | "scored";
export type AvroLimits = Record<`${"encode" | "decode"} ${AvroKind}`, Summary>;

const chunk = 500;

export async function measureAvro(
  set: RecordSet,
  types: RecordTypes,
  ids: PipelineSchemaIds,
  options: { ms: number; runs: number; log: (line: string) => void },
): Promise<AvroLimits> {
  const kinds: Array<{ kind: AvroKind; records: readonly object[]; encoded: readonly Message[] }> = [
    { kind: "raw", records: set.rawRecords, encoded: set.raw },
    { kind: "features", records: set.featuresRecords, encoded: set.features },
    { kind: "scored", records: set.scoredRecords, encoded: set.scored },
  ];
  const out: Partial<AvroLimits> = {};
  for (const { kind, records, encoded } of kinds) {
    const type = types[kind];
    const id = ids[kind === "features" ? "features" : kind];
    const values = encoded.map((m) => m.value as Buffer);
    await types.codec.prepare(values.slice(0, 1));
    let at = 0;
    out[`encode ${kind}`] = await repeat(`avro encode ${kind}`, options, () =>
      rateOverSync(options.ms, () => {
        for (let i = 0; i < chunk; i += 1) types.codec.encode(id, type, records[(at + i) % records.length]);
        at += chunk;
        return chunk;
      }),
    );
    out[`decode ${kind}`] = await repeat(`avro decode ${kind}`, options, () =>
      rateOverSync(options.ms, () => {
        for (let i = 0; i < chunk; i += 1) types.codec.decode(values[(at + i) % values.length]);
        at += chunk;
        return chunk;
      }),
    );
  }
  return out as AvroLimits;
}
