// Splitting a window into usable values, missing values and non-finite values. Evidently drops
// NaN and ±inf before any test; we drop them too but count them, since a rising share of either
// is a data-quality drift of its own.

export type RawNumber = number | null | undefined;
export type RawCategory = string | number | boolean | null | undefined;

export interface WindowQuality {
  /** Every value seen, usable or not. */
  total: number;
  /** null, undefined or NaN. */
  missing: number;
  /** +∞ or −∞. */
  nonFinite: number;
  missingShare: number;
  nonFiniteShare: number;
}

export function quality(total: number, missing: number, nonFinite: number): WindowQuality {
  return {
    total,
    missing,
    nonFinite,
    missingShare: total === 0 ? 0 : missing / total,
    nonFiniteShare: total === 0 ? 0 : nonFinite / total,
  };
}

export function isMissing(value: unknown): value is null | undefined {
  return value === null || value === undefined || (typeof value === "number" && Number.isNaN(value));
}

export function splitNumerical(values: readonly RawNumber[]): { finite: Float64Array; quality: WindowQuality } {
  const finite: number[] = [];
  let missing = 0;
  let nonFinite = 0;
  for (const value of values) {
    if (isMissing(value)) missing++;
    else if (!Number.isFinite(value)) nonFinite++;
    else finite.push(value);
  }
  return { finite: Float64Array.from(finite), quality: quality(values.length, missing, nonFinite) };
}

/** Categories keep numbers as numbers; booleans become "true"/"false" so keys stay comparable. */
export function categoryKey(value: string | number | boolean): string | number {
  return typeof value === "boolean" ? String(value) : value;
}

export function splitCategorical(values: readonly RawCategory[]): {
  present: Array<string | number>;
  quality: WindowQuality;
} {
  const present: Array<string | number> = [];
  let missing = 0;
  let nonFinite = 0;
  for (const value of values) {
    if (isMissing(value)) missing++;
    // Evidently turns ±inf into NaN and drops it in every column, categorical ones too.
    else if (typeof value === "number" && !Number.isFinite(value)) nonFinite++;
    else present.push(categoryKey(value));
  }
  return { present, quality: quality(values.length, missing, nonFinite) };
}
