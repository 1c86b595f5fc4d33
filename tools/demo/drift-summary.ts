// The demo's drift lines, from its windows' verdicts: which features drifted, from when, and
// whether that is the injected drift, what is computed from the drifted field, or something else.
// Warm-up windows (the rolling features' first hour) are stored but never judged; they are named
// as such rather than counted.
import { type PipelineDefinition, warmUpOf } from "../../services/shared/pipeline/definition.ts";

export interface DriftWindowRow {
  feature: string;
  window_start: string | number;
  drifted: string | number;
  warm_up: string | number;
}

export function driftSummary(
  rows: readonly DriftWindowRow[],
  driftFromMs: number,
  definition: PipelineDefinition,
  driftedField = "amount",
): string[] {
  if (rows.length === 0) return ["no window closed yet"];
  // A window that ends after the drift began holds drifted events: it counts as after.
  const windowMs = definition.monitoring.windowSeconds * 1000;
  const isAfter = (start: number) => start + windowMs > driftFromMs;
  const windows = [...new Set(rows.map((r) => Number(r.window_start)))].sort((a, b) => a - b);
  const judged = rows.filter((r) => Number(r.warm_up) !== 1);
  const drifted = judged.filter((r) => Number(r.drifted) === 1);
  const before = drifted.filter((r) => !isAfter(Number(r.window_start)));
  const after = drifted.filter((r) => isAfter(Number(r.window_start)));
  const windowsAfter = windows.filter(isAfter).length;
  const fromField = new Set(
    definition.features.filter((f) => "source" in f && f.source === driftedField).map((f) => f.name),
  );
  const count = (feature: string) => after.filter((r) => r.feature === feature).length;
  const afterFeatures = [...new Set(after.map((r) => r.feature))];
  const derived = afterFeatures.filter((f) => f !== driftedField && (fromField.has(f) || f === "prediction"));
  const other = afterFeatures.filter((f) => f !== driftedField && !derived.includes(f));
  const lines = [
    count(driftedField) > 0
      ? `${driftedField} drifted from the half-way point: ${count(driftedField)} of the ${windowsAfter} windows since the drift was injected`
      : `${driftedField} did not drift in the ${windowsAfter} windows since the drift was injected (it should have)`,
  ];
  if (derived.length > 0)
    lines.push(
      `and what is computed from it: ${derived.map((f) => `${f} ${count(f)}/${windowsAfter}`).join(", ")} (the prediction reads ${driftedField})`,
    );
  const also = [...new Set([...before.map((r) => r.feature), ...other])];
  lines.push(
    also.length === 0
      ? "nothing else drifted"
      : `also drifted: ${also.join(", ")} (${before.length} drifted windows before the drift was injected)`,
  );
  const warmUp = warmUpOf(definition);
  const warming = new Set(rows.filter((r) => Number(r.warm_up) === 1).map((r) => Number(r.window_start)));
  if (warming.size > 0)
    lines.push(
      `not judged: ${warmUp.features.join(", ")} in the first ${warming.size} windows (warm-up: the rolling features count only the history seen so far)`,
    );
  return lines;
}
