// Feature computation from a cleaned event and its entity's state. Pure, so training (offline,
// from generated events) and serving compute exactly the same values.
import { type FeatureSpec, featureNames, type PipelineDefinition } from "../shared/pipeline/definition.ts";
import { type EntityState, rollingAggregate } from "./entity-state.ts";

const hourMs = 3_600_000;
const dayMs = 24 * hourMs;

/** ISO weekday of a UTC instant, Monday = 0 … Sunday = 6. */
export function dayOfWeek(timeMs: number): number {
  // 1970-01-01 was a Thursday (ISO weekday index 3).
  return (Math.floor(timeMs / dayMs) + 3) % 7;
}

export function hourOfDay(timeMs: number): number {
  return Math.floor((((timeMs % dayMs) + dayMs) % dayMs) / hourMs);
}

function numeric(value: unknown): number {
  if (typeof value === "boolean") return value ? 1 : 0;
  return Number(value);
}

function writeFeature(
  spec: FeatureSpec,
  record: Record<string, unknown>,
  state: EntityState,
  time: number,
  out: number[],
): void {
  const value = record[spec.source];
  switch (spec.kind) {
    case "numeric":
      out.push(numeric(value));
      return;
    case "standard-scale":
      out.push((numeric(value) - spec.mean) / spec.std);
      return;
    case "log1p":
      out.push(Math.log1p(Math.max(0, numeric(value))));
      return;
    case "category-index": {
      // Unknown categories share the index after the known ones, so the model sees "other".
      const index = spec.categories.indexOf(String(value));
      out.push(index === -1 ? spec.categories.length : index);
      return;
    }
    case "one-hot":
      for (const category of spec.categories) out.push(String(value) === category ? 1 : 0);
      return;
    case "hour-of-day":
      out.push(hourOfDay(numeric(value)));
      return;
    case "day-of-week":
      out.push(dayOfWeek(numeric(value)));
      return;
    case "rolling":
      out.push(rollingAggregate(state, spec.source, spec.aggregate, time, spec.windowSeconds * 1000));
      return;
  }
}

/** The model input vector, in `featureNames(definition)` order. Call after the event was added to the state. */
export function computeFeatures(
  definition: PipelineDefinition,
  record: Record<string, unknown>,
  state: EntityState,
): number[] {
  const time = numeric(record[definition.eventTime]);
  const out: number[] = [];
  for (const spec of definition.features) writeFeature(spec, record, state, time, out);
  return out;
}

export { featureNames };
