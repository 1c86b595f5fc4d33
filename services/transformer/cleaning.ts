// Cleaning rules applied to a decoded raw event, in a fixed order: normalize, fill defaults, check
// required fields, reject non-finite numbers, check ranges and allowed values, reject events from
// the future. Pure: the same record and clock give the same answer.
import type { CleaningRules } from "../shared/pipeline/definition.ts";

export type RawRecord = Record<string, unknown>;

export type CleaningResult = { ok: true; record: RawRecord } | { ok: false; field: string; reason: string };

/** The rules as arrays, made once per rules object: the per-record loops then allocate nothing. */
interface CompiledRules {
  defaults: Array<[string, unknown]>;
  ranges: Array<[string, { min?: number | undefined; max?: number | undefined }]>;
  allowed: Array<[string, Set<string>, string[]]>;
}

const compiled = new WeakMap<CleaningRules, CompiledRules>();

function compile(rules: CleaningRules): CompiledRules {
  let out = compiled.get(rules);
  if (!out) {
    out = {
      defaults: Object.entries(rules.defaults),
      ranges: Object.entries(rules.ranges),
      allowed: Object.entries(rules.allowed).map(([field, values]) => [field, new Set(values), values]),
    };
    compiled.set(rules, out);
  }
  return out;
}

export function cleanRecord(
  rules: CleaningRules,
  eventTimeField: string,
  input: RawRecord,
  nowMs: number,
): CleaningResult {
  const { defaults, ranges, allowed } = compile(rules);
  const record: RawRecord = { ...input };
  for (const field of rules.normalize) {
    const value = record[field];
    if (typeof value === "string") record[field] = value.trim().toLowerCase();
  }
  for (const [field, fallback] of defaults) {
    if (record[field] === null || record[field] === undefined || record[field] === "") record[field] = fallback;
  }
  for (const field of rules.required) {
    const value = record[field];
    if (value === null || value === undefined || value === "") return { ok: false, field, reason: "is required" };
  }
  for (const field in record) {
    const value = record[field];
    if (typeof value === "number" && !Number.isFinite(value))
      return { ok: false, field, reason: `is ${value}, not a finite number` };
  }
  for (const [field, { min, max }] of ranges) {
    const value = record[field];
    if (value === null || value === undefined) continue;
    if (typeof value !== "number") return { ok: false, field, reason: "must be a number" };
    if (min !== undefined && value < min) return { ok: false, field, reason: `${value} is below the minimum ${min}` };
    if (max !== undefined && value > max) return { ok: false, field, reason: `${value} is above the maximum ${max}` };
  }
  for (const [field, values, list] of allowed) {
    const value = record[field];
    if (value === null || value === undefined) continue;
    if (!values.has(String(value)))
      return { ok: false, field, reason: `"${String(value)}" is not one of ${list.join(", ")}` };
  }
  const eventTime = record[eventTimeField];
  if (typeof eventTime === "number" && eventTime > nowMs + rules.maxFutureSkewSeconds * 1000) {
    return { ok: false, field: eventTimeField, reason: `is ${Math.round((eventTime - nowMs) / 1000)} s in the future` };
  }
  return { ok: true, record };
}
