// Drift injection for generated events: from a point in event time on, shift a numeric field's
// mean or scale its spread, or replace a share of a categorical field with a new category.
export type DriftSpec =
  | { kind: "mean-shift"; field: string; fromTime: number /** added, in units of the field */; shift: number }
  | {
      kind: "scale";
      field: string;
      fromTime: number /** multiplies the deviation from `center` */;
      factor: number;
      center: number;
    }
  | { kind: "new-category"; field: string; fromTime: number; category: string; share: number };

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
  }
}
