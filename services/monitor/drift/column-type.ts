// The column type Evidently gives a column it was not told about, from the values alone. Evidently
// decides from the pandas dtype (evidently.core.datasets.infer_column_type), so we first derive the
// dtype pandas infers for a Series of the same values (the values a JSON array decodes to in
// Python), then apply Evidently's rules to it. The dtype also decides numpy's histogram rules for
// integer data, which parity mode needs even when the type is given.
import type { RawCategory } from "./quality.ts";

/** The pandas dtypes a column of JSON values can get. */
export type Dtype = "int64" | "uint64" | "float64" | "bool" | "object";

export type EvidentlyColumnType = "numerical" | "categorical" | "text" | "unknown";

/** Evidently: an integer column with at most this many distinct values is categorical. */
export const INTEGER_CARDINALITY_LIMIT = 10;

const INT64_LIMIT = 2 ** 63;
const UINT64_LIMIT = 2 ** 64;
// JavaScript writes integers from 1e21 on with an exponent, which Python reads as a float.
const EXPONENT_FROM = 1e21;

export interface DtypeOptions {
  /**
   * Some number was written with a fraction or an exponent ("1.0", "2e3"), which Python reads as a
   * float whatever its value. Numbers in JavaScript cannot tell 1.0 from 1, so a caller that reads
   * text (the drift CLI) says so here; without it, integer-valued numbers count as integers.
   */
  floatLiterals?: boolean;
}

/**
 * `pd.Series(values).dtype`: integers alone are int64 (uint64 when one is beyond int64 and none is
 * negative, object beyond uint64); numbers with a missing value, a non-finite value or a fraction
 * are float64 (None becomes NaN); booleans alone are bool; anything else, including booleans with a
 * missing value and an empty or all-missing column, is object.
 */
export function inferDtype(values: readonly RawCategory[], options: DtypeOptions = {}): Dtype {
  let numbers = 0;
  let integers = 0;
  let negative = false;
  let largest = 0;
  let booleans = 0;
  let missing = 0;
  for (const value of values) {
    if (value === null || value === undefined) missing++;
    else if (typeof value === "boolean") booleans++;
    else if (typeof value === "number") {
      numbers++;
      if (Number.isInteger(value) && Math.abs(value) < EXPONENT_FROM) {
        integers++;
        negative ||= value < 0;
        largest = Math.max(largest, Math.abs(value));
      }
    } else return "object";
  }
  if (values.length === 0 || missing === values.length) return "object";
  if (booleans > 0) return booleans === values.length ? "bool" : "object";
  if (integers === values.length && !options.floatLiterals) {
    if (largest < INT64_LIMIT) return "int64";
    return !negative && largest < UINT64_LIMIT ? "uint64" : "object";
  }
  return numbers > 0 ? "float64" : "object";
}

function isMissingValue(value: RawCategory): boolean {
  return value === null || value === undefined || (typeof value === "number" && Number.isNaN(value));
}

/** pandas `nunique()`: distinct values other than missing ones. */
export function distinctCount(values: readonly RawCategory[]): number {
  const seen = new Set<RawCategory>();
  for (const value of values) if (!isMissingValue(value)) seen.add(value);
  return seen.size;
}

export interface InferredColumnType {
  type: EvidentlyColumnType;
  dtype: Dtype;
  distinct: number;
  /** Why, in Evidently's terms, for the CLI's report. */
  reason: string;
}

/**
 * Evidently's `infer_column_type` on a column of these values. Evidently's current API infers each
 * dataset's columns separately and its drift metric takes the type of the current dataset's
 * column, so callers pass the current sample.
 */
export function inferColumnType(values: readonly RawCategory[], dtype: Dtype = inferDtype(values)): InferredColumnType {
  const distinct = distinctCount(values);
  const present = values.filter((value) => !isMissingValue(value));
  const result = (type: EvidentlyColumnType, reason: string) => ({ type, dtype, distinct, reason });
  switch (dtype) {
    case "float64":
      return result("numerical", "float column");
    case "int64":
      return distinct <= INTEGER_CARDINALITY_LIMIT
        ? result("categorical", `integer column with ${distinct} <= ${INTEGER_CARDINALITY_LIMIT} distinct values`)
        : result("numerical", `integer column with ${distinct} > ${INTEGER_CARDINALITY_LIMIT} distinct values`);
    case "bool":
      return result("categorical", "boolean column");
    case "uint64":
      // Evidently's rules know "int…" and "float…" dtypes only.
      return result("unknown", "unsigned integer column (integers beyond int64)");
    case "object": {
      // Evidently looks at the first and the last present value only.
      const first = present[0];
      const last = present.at(-1);
      if (typeof first !== "string" || typeof last !== "string") {
        // Integers beyond uint64 land here too: Python keeps them as ints in an object column.
        return result("unknown", present.length === 0 ? "no present values" : "mixed or non-string object column");
      }
      // Strings are text when more than half of the present values are distinct.
      return distinct > present.length * 0.5
        ? result("text", `string column with ${distinct} distinct of ${present.length} values (more than half)`)
        : result("categorical", `string column with ${distinct} distinct of ${present.length} values`);
    }
  }
}
