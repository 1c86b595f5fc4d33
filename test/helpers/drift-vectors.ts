// Loads the shared Evidently parity vectors from the `shared` folder beside the checkout and
// decodes the non-finite floats the file writes as strings.
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { expect } from "vitest";

const projectRoot = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
export const driftVectorsPath = join(projectRoot, "..", "shared", "drift-vectors", "evidently-parity.json");

const NON_FINITE: Record<string, number> = { NaN: Number.NaN, Infinity: Number.POSITIVE_INFINITY, "-Infinity": -1 / 0 };

/** A number from the file: finite numbers as they are, "NaN"/"Infinity"/"-Infinity" decoded. */
export function decodeNumber(value: unknown): number {
  if (typeof value === "number") return value;
  if (typeof value === "string" && value in NON_FINITE) return NON_FINITE[value] as number;
  throw new Error(`not an encoded number: ${JSON.stringify(value)}`);
}

export function decodeNumbers(values: readonly unknown[]): number[] {
  return values.map(decodeNumber);
}

// biome-ignore lint/suspicious/noExplicitAny: the vector file is read as loosely typed JSON
export type Json = any;

export interface DriftVectors {
  meta: Json;
  cases: Json[];
  dataset_drift_example: Json;
}

export function loadDriftVectors(): DriftVectors {
  return JSON.parse(readFileSync(driftVectorsPath, "utf8")) as DriftVectors;
}

export interface Tolerance {
  abs?: number;
  rel?: number;
}

/** Passes when either the absolute or the relative difference is within its bound. */
export function expectClose(actual: number, expectedRaw: unknown, tolerance: Tolerance, label: string): void {
  const expected = decodeNumber(expectedRaw);
  if (Number.isNaN(expected) || !Number.isFinite(expected)) {
    expect(actual, label).toBe(expected);
    return;
  }
  const diff = Math.abs(actual - expected);
  const okAbs = tolerance.abs !== undefined && diff <= tolerance.abs;
  const okRel = tolerance.rel !== undefined && diff <= tolerance.rel * Math.abs(expected);
  expect(
    okAbs || okRel,
    `${label}: got ${actual}, expected ${expected} (diff ${diff}, rel ${diff / Math.abs(expected)})`,
  ).toBe(true);
}
