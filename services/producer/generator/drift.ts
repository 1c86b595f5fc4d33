// Drift injection for generated events: from a point in event time on, shift a numeric field's
// mean or scale its spread, or replace a share of a categorical field with a new category (data
// drift: the inputs change); or relabel the events that match a pattern (concept drift: the inputs
// look as before, what they mean changes, so only the labels can show it).
export type DriftSpec =
  | { kind: "mean-shift"; field: string; fromTime: number /** added, in units of the field */; shift: number }
  | {
      kind: "scale";
      field: string;
      fromTime: number /** multiplies the deviation from `center` */;
      factor: number;
      center: number;
    }
  | { kind: "new-category"; field: string; fromTime: number; category: string; share: number }
  | {
      kind: "concept";
      /** What changes: the label, never a field of the event. */
      field: "label";
      fromTime: number;
      /** In words, for output: e.g. "small card-present payments at fuel stations are fraud". */
      name: string;
      pattern: EventPattern;
      /** The label a matching event gets from `fromTime` on; the others keep theirs. */
      label: number;
      /** Share of matching events relabelled (below 1 leaves some as they were: label noise). */
      share: number;
    };

/** Fields equal to given values and numeric fields below given bounds, all of them at once. */
export interface EventPattern {
  equals?: Readonly<Record<string, string | number | boolean>>;
  below?: Readonly<Record<string, number>>;
}

export function matchesPattern(record: Readonly<Record<string, unknown>>, pattern: EventPattern): boolean {
  for (const [field, value] of Object.entries(pattern.equals ?? {})) if (record[field] !== value) return false;
  for (const [field, bound] of Object.entries(pattern.below ?? {})) {
    const value = record[field];
    if (typeof value !== "number" || !(value < bound)) return false;
  }
  return true;
}

export function applyDrift(
  record: Record<string, unknown>,
  time: number,
  drift: DriftSpec | undefined,
  random: () => number,
): void {
  if (!drift || time < drift.fromTime) return;
  const value = record[drift.field];
  switch (drift.kind) {
    case "mean-shift":
      if (typeof value === "number") record[drift.field] = Math.max(0, value + drift.shift);
      return;
    case "scale":
      if (typeof value === "number")
        record[drift.field] = Math.max(0, drift.center + (value - drift.center) * drift.factor);
      return;
    case "new-category":
      if (random() < drift.share) record[drift.field] = drift.category;
      return;
    case "concept":
      // The event itself is left as it is: see driftedLabel.
      return;
  }
}

/**
 * The label of an event under the drift: a concept drift relabels the matching events from its
 * start on; every other drift, and every event before the start, keeps the generator's label.
 * Call it after applyDrift (the pattern reads the event as sent).
 */
export function driftedLabel(
  record: Readonly<Record<string, unknown>>,
  label: number,
  time: number,
  drift: DriftSpec | undefined,
  random: () => number,
): number {
  if (drift?.kind !== "concept" || time < drift.fromTime || !matchesPattern(record, drift.pattern)) return label;
  return drift.share >= 1 || random() < drift.share ? drift.label : label;
}
