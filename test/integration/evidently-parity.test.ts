// Parity mode against Evidently itself (the pinned evidently in .stack/evidently-venv, made by
// tools/python-venv.sh from tools/drift-reference/requirements.txt), not against our transcription
// of it. Generated columns — normal, shifted, scaled, lognormal, Cauchy, with NaN and ±inf, from
// n = 30 to n = 10⁵ (and an integer column large enough for numpy's integer bin rule), few distinct
// values, integer-valued; categorical ones with new, missing and binary categories — go through
// Evidently's per-column stattests and its default test selection in one Python process, and
// through our parity mode; values must agree to 1e-9 relative (1e-6 for asymptotic KS p-values) and
// drift flags exactly. "auto" cases leave the column type to Evidently's inference (current API),
// which our `inferColumnType` must reproduce; Evidently's dtypes are compared with ours too.
import { readFileSync } from "node:fs";
import { beforeAll, describe, expect, it } from "vitest";
import { type Dtype, inferColumnType, inferDtype } from "../../services/monitor/drift/column-type.ts";
import { type ParityResult, parity, type StatTestName } from "../../services/monitor/drift/parity.ts";
import type { RawCategory } from "../../services/monitor/drift/quality.ts";
import { defaultThresholds, isDrifted, type Threshold } from "../../services/monitor/drift/thresholds.ts";
import { gaussian, seededRandom } from "../../services/shared/random.ts";
import {
  decodeScore,
  type EvidentlyCase,
  type EvidentlyOutput,
  type EvidentlyResult,
  encodeValue,
  evidentlyPython,
  evidentlyRequirements,
  runEvidently,
} from "../../tools/drift-reference/evidently.ts";

const REL = 1e-9;
const REL_KS_ASYMPTOTIC = 1e-6;

interface Case {
  id: string;
  type: "numerical" | "categorical" | "auto";
  reference: RawCategory[];
  current: RawCategory[];
}

// --- generators (seeded, so a failure reproduces) ---
type Draw = (random: () => number) => number;
const normal =
  (mu = 0, sigma = 1): Draw =>
  (random) =>
    mu + sigma * gaussian(random);
const lognormal =
  (mu: number, sigma: number): Draw =>
  (random) =>
    Math.exp(mu + sigma * gaussian(random));
const cauchy =
  (location: number, scale: number): Draw =>
  (random) =>
    location + scale * Math.tan(Math.PI * (random() - 0.5));
const integers =
  (low: number, high: number): Draw =>
  (random) =>
    low + Math.floor(random() * (high - low + 1));
// Knuth's method; fine for the small means used here.
const poisson =
  (lambda: number): Draw =>
  (random) => {
    const limit = Math.exp(-lambda);
    let k = 0;
    let p = random();
    while (p > limit) {
      k++;
      p *= random();
    }
    return k;
  };
const pick =
  <T>(items: readonly T[], weights: readonly number[]) =>
  (random: () => number): T => {
    const total = weights.reduce((a, b) => a + b, 0);
    let r = random() * total;
    for (let i = 0; i < items.length; i++) {
      r -= weights[i] as number;
      if (r < 0) return items[i] as T;
    }
    return items.at(-1) as T;
  };

function sample<T>(seed: number, n: number, draw: (random: () => number) => T): T[] {
  const random = seededRandom(seed);
  return Array.from({ length: n }, () => draw(random));
}

/** Replaces every `every`-th value (from `offset`) by `value`: NaN, null or an infinity. */
function sprinkle(values: RawCategory[], every: number, offset: number, value: RawCategory): RawCategory[] {
  return values.map((v, i) => (i % every === offset ? value : v));
}

// Integers 0..20 (21 distinct, so Sturges binning) on 540 000 pooled values: Sturges' width
// 20/(log2(540000)+1) < 1, so numpy widens it to 1 for int64 data (20 bins) but not for float64 (21).
const wideInts = { reference: sample(41, 270_000, integers(0, 20)), current: sample(42, 270_000, integers(1, 20)) };

const cases: Case[] = [
  // numerical, small samples: KS exact, chi-square and z for few values
  { id: "normal-n30", type: "numerical", reference: sample(1, 30, normal()), current: sample(2, 30, normal()) },
  {
    id: "shifted-n30",
    type: "numerical",
    reference: sample(3, 30, normal()),
    current: sample(4, 30, normal(0.9)),
  },
  {
    id: "shifted-n800-n600",
    type: "numerical",
    reference: sample(5, 800, normal()),
    current: sample(6, 600, normal(0.12)),
  },
  {
    id: "cauchy-n200",
    type: "numerical",
    reference: sample(7, 200, cauchy(0, 1)),
    current: sample(8, 200, cauchy(0.3, 1)),
  },
  {
    id: "nan-inf-n60",
    type: "numerical",
    reference: sprinkle(sprinkle(sample(9, 60, normal()), 7, 3, Number.NaN), 13, 5, Number.POSITIVE_INFINITY),
    current: sprinkle(sprinkle(sample(10, 55, normal(0.5)), 9, 2, null), 11, 4, Number.NEGATIVE_INFINITY),
  },
  {
    id: "three-floats-n500",
    type: "numerical",
    reference: sample(11, 500, pick([0.5, 1.5, 2.5], [3, 2, 1])),
    current: sample(12, 500, pick([0.5, 1.5, 2.5], [2, 2, 1])),
  },
  {
    id: "two-floats-n600",
    type: "numerical",
    reference: sample(13, 600, pick([0.25, 0.75], [1, 1])),
    current: sample(14, 600, pick([0.25, 0.75], [1.3, 1])),
  },
  {
    id: "five-ints-n900",
    type: "numerical",
    reference: sample(15, 900, integers(1, 5)),
    current: sample(16, 700, integers(1, 5)),
  },
  // numerical, larger samples: Wasserstein or Jensen–Shannon by default, KS asymptotic above 10⁴
  {
    id: "scaled-n5000",
    type: "numerical",
    reference: sample(17, 5000, normal()),
    current: sample(18, 5000, normal(0, 1.5)),
  },
  {
    id: "lognormal-n2000",
    type: "numerical",
    reference: sample(19, 2000, lognormal(0, 1)),
    current: sample(20, 2000, lognormal(0, 1.2)),
  },
  {
    id: "cauchy-n3000",
    type: "numerical",
    reference: sample(21, 3000, cauchy(0, 1)),
    current: sample(22, 3000, cauchy(0, 2)),
  },
  {
    id: "nan-inf-n1500",
    type: "numerical",
    reference: sprinkle(sprinkle(sample(23, 1500, normal()), 20, 7, Number.NaN), 97, 1, Number.NEGATIVE_INFINITY),
    current: sprinkle(sprinkle(sample(24, 1400, normal(0.2)), 25, 3, null), 50, 9, Number.POSITIVE_INFINITY),
  },
  {
    id: "shifted-n100000",
    type: "numerical",
    reference: sample(25, 100_000, normal()),
    current: sample(26, 100_000, normal(0.02)),
  },
  {
    id: "four-values-n3000",
    type: "numerical",
    reference: sample(27, 3000, pick([-1.5, 0.5, 2.5, 4.5], [4, 3, 2, 1])),
    current: sample(28, 2500, pick([-1.5, 0.5, 2.5, 4.5], [3, 3, 2, 2])),
  },
  {
    id: "poisson-ints-n2000",
    type: "numerical",
    reference: sample(29, 2000, poisson(20)),
    current: sample(30, 2000, poisson(21)),
  },
  { id: "ints-0-20-n270000", type: "numerical", reference: wideInts.reference, current: wideInts.current },
  {
    // The same integers with one NaN in the reference: pandas makes it float64, so numpy's integer
    // width rule no longer applies and Sturges gives one bin more.
    id: "ints-0-20-n270000-reference-float",
    type: "numerical",
    reference: [...wideInts.reference, Number.NaN],
    current: wideInts.current,
  },
  // types inferred by Evidently's current API
  {
    id: "auto-ints-6-values",
    type: "auto",
    reference: sample(31, 500, integers(0, 5)),
    current: sample(32, 400, integers(0, 5)),
  },
  {
    id: "auto-ints-10-values-n3000",
    type: "auto",
    reference: sample(33, 3000, integers(1, 10)),
    current: sample(34, 3000, integers(1, 10)),
  },
  {
    id: "auto-ints-11-values",
    type: "auto",
    reference: sample(35, 600, integers(0, 10)),
    current: sample(36, 600, integers(0, 10)),
  },
  {
    id: "auto-binary-ints",
    type: "auto",
    reference: sample(37, 400, pick([0, 1], [3, 1])),
    current: sample(38, 400, pick([0, 1], [2, 1])),
  },
  {
    // Current is int64 with 4 values (categorical); the reference, with a NaN, is float64.
    id: "auto-ints-reference-with-nan",
    type: "auto",
    reference: sprinkle(sample(39, 700, integers(1, 4)), 50, 10, Number.NaN),
    current: sample(40, 700, integers(1, 4)),
  },
  {
    // Integer values with a missing one: float64, so numerical with 4 values (chi-square).
    id: "auto-integer-valued-floats",
    type: "auto",
    reference: sample(43, 700, integers(1, 4)),
    current: sprinkle(sample(44, 700, integers(1, 4)), 70, 0, null),
  },
  {
    id: "auto-poisson-ints-n2000",
    type: "auto",
    reference: sample(45, 2000, poisson(20)),
    current: sample(46, 2000, poisson(20)),
  },
  { id: "auto-floats", type: "auto", reference: sample(47, 300, normal()), current: sample(48, 300, normal(0.3)) },
  {
    id: "auto-strings",
    type: "auto",
    reference: sample(49, 300, pick(["a", "b", "c"], [1, 1, 1])),
    current: sample(50, 300, pick(["a", "b", "c", "d"], [1, 1, 1, 0.2])),
  },
  {
    id: "auto-booleans",
    type: "auto",
    reference: sample(51, 300, pick([true, false], [1, 1])),
    current: sample(52, 300, pick([true, false], [1.4, 1])),
  },
  // categorical
  {
    id: "cat-new-category",
    type: "categorical",
    reference: sample(53, 300, pick(["red", "green", "blue"], [3, 2, 1])),
    current: sample(54, 300, pick(["red", "green", "blue", "violet"], [3, 2, 1, 0.3])),
  },
  {
    id: "cat-missing-category",
    type: "categorical",
    reference: sample(55, 400, pick(["red", "green", "blue"], [3, 2, 1])),
    current: sample(56, 350, pick(["red", "green"], [3, 2])),
  },
  {
    id: "cat-new-category-n5000",
    type: "categorical",
    reference: sample(57, 5000, pick(["a", "b", "c", "d", "e"], [5, 4, 3, 2, 1])),
    current: sample(58, 4000, pick(["a", "b", "c", "d", "e", "f"], [5, 4, 3, 2, 1, 0.5])),
  },
  {
    id: "cat-binary-n200",
    type: "categorical",
    reference: sample(59, 200, pick(["yes", "no"], [1, 1])),
    current: sample(60, 250, pick(["yes", "no"], [1.5, 1])),
  },
  {
    id: "cat-binary-n3000",
    type: "categorical",
    reference: sample(61, 3000, pick(["yes", "no"], [1, 1])),
    current: sample(62, 3000, pick(["yes", "no"], [1.1, 1])),
  },
  {
    id: "cat-with-missing",
    type: "categorical",
    reference: sprinkle(sample(63, 500, pick(["x", "y", "z"], [1, 2, 3])), 10, 4, null),
    current: sprinkle(sample(64, 500, pick(["x", "y", "z"], [1, 2, 2])), 8, 1, null),
  },
  {
    id: "cat-one-value-both",
    type: "categorical",
    reference: sample(65, 100, () => "only"),
    current: sample(66, 80, () => "only"),
  },
  {
    // Numbers as categories, with infinities that Evidently drops like NaN.
    id: "cat-numbers-with-inf",
    type: "categorical",
    reference: sprinkle(sample(67, 400, pick([1.5, 2.5, 3.5], [1, 1, 1])), 40, 3, Number.POSITIVE_INFINITY),
    current: sprinkle(sample(68, 400, pick([1.5, 2.5, 3.5], [1, 1, 2])), 30, 7, Number.NEGATIVE_INFINITY),
  },
];

// A text column: Evidently runs no numerical or categorical test on it, and neither may we.
const textCase: Case = {
  id: "auto-text",
  type: "auto",
  reference: sample(69, 200, (random) => `word-${Math.floor(random() * 1e6)}`),
  current: sample(70, 200, (random) => `word-${Math.floor(random() * 1e6)}`),
};

function toEvidently(c: Case): EvidentlyCase {
  return { id: c.id, type: c.type, reference: c.reference.map(encodeValue), current: c.current.map(encodeValue) };
}

const thresholdOf: Record<StatTestName | "psi", Threshold> = {
  ks: defaultThresholds.ksPValue,
  wasserstein: defaultThresholds.wasserstein,
  jensenshannon: defaultThresholds.jensenShannon,
  chisquare: defaultThresholds.chiSquarePValue,
  z: defaultThresholds.zTestPValue,
  psi: defaultThresholds.psi,
};

/** Our value of one of Evidently's stattests, or undefined where parity mode does not compute it. */
function ours(result: ParityResult, name: string): number | undefined {
  switch (name) {
    case "ks":
      return result.featureType === "numerical" ? result.ks.pValue : undefined;
    case "wasserstein":
      return result.featureType === "numerical" ? result.wasserstein.normed : undefined;
    case "psi":
      return result.psi;
    case "jensenshannon":
      return result.jensenShannon.distance;
    case "chisquare":
      return result.chiSquare?.pValue;
    case "z":
      return result.zTest?.pValue;
    default:
      throw new Error(`unknown stattest ${name}`);
  }
}

function toleranceFor(result: ParityResult, name: string): number {
  return name === "ks" && result.featureType === "numerical" && result.ks.method === "asymp" ? REL_KS_ASYMPTOTIC : REL;
}

function expectRelative(actual: number, expected: number, rel: number, label: string): void {
  if (!Number.isFinite(expected)) {
    expect(actual, label).toBe(expected);
    return;
  }
  const diff = Math.abs(actual - expected);
  expect(
    diff <= rel * Math.abs(expected),
    `${label}: ours ${actual}, Evidently ${expected} (rel ${diff / Math.abs(expected)})`,
  ).toBe(true);
}

describe("parity mode against Evidently itself", () => {
  let evidently: EvidentlyOutput;
  const byId = new Map<string, EvidentlyResult>();

  beforeAll(async () => {
    const python = await evidentlyPython();
    evidently = await runEvidently(python, [...cases, textCase].map(toEvidently));
    for (const result of evidently.results) byId.set(result.id, result);
  });

  it("ran the pinned Evidently, pandas, numpy and scipy", () => {
    const requirements = readFileSync(evidentlyRequirements, "utf8");
    for (const name of ["evidently", "pandas", "numpy", "scipy"]) {
      const pin = new RegExp(`^${name}==(\\S+)$`, "m").exec(requirements)?.[1];
      expect(pin, name).toBeDefined();
      expect(evidently.versions[name], name).toBe(pin);
    }
    expect(evidently.results.map((r) => r.id)).toEqual([...cases, textCase].map((c) => c.id));
  });

  it("has cases where each default test drifts and where it does not", () => {
    // Guards the generated data: flags that never differ would make the flag comparison vacuous.
    const outcomes = new Set(
      evidently.results.flatMap((r) => (r.default ? [`${r.default.stattest}:${r.default.drifted}`] : [])),
    );
    for (const name of ["ks", "wasserstein", "jensenshannon", "chisquare", "z"]) {
      expect(outcomes, name).toContain(`${name}:true`);
      expect(outcomes, name).toContain(`${name}:false`);
    }
  });

  for (const c of cases) {
    describe(c.id, () => {
      const result = parity(c.type, c.reference, c.current);
      const get = () => byId.get(c.id) as EvidentlyResult;

      it("sees the dtypes and column type Evidently sees", () => {
        const e = get();
        const referenceDtype: Dtype = inferDtype(c.reference);
        const currentDtype: Dtype = inferDtype(c.current);
        expect({ reference: referenceDtype, current: currentDtype }).toEqual(e.dtypes);
        expect({
          reference: inferColumnType(c.reference).type,
          current: inferColumnType(c.current).type,
        }).toEqual(e.inferred);
        expect(result.featureType).toBe(e.column_type);
        if (result.featureType === "numerical") expect(result.dtypes).toEqual(e.dtypes);
        expect([result.nReference, result.nCurrent, result.combinedDistinct]).toEqual([
          e.n_reference,
          e.n_current,
          e.combined_distinct,
        ]);
      });

      it("picks Evidently's default test, score and drift flag", () => {
        const d = get().default;
        if (d === undefined) throw new Error("Evidently ran no default test");
        expect(result.defaultTest.name).toBe(d.stattest);
        expect(result.defaultTest.threshold).toBe(d.threshold);
        expectRelative(result.defaultTest.score, decodeScore(d.score), toleranceFor(result, d.stattest), "score");
        expect(result.defaultTest.drifted).toBe(d.drifted);
      });

      it("matches every stattest Evidently runs on the column, value and flag", () => {
        const tests = get().tests ?? {};
        expect(Object.keys(tests).length).toBeGreaterThan(0);
        for (const [name, test] of Object.entries(tests)) {
          const value = ours(result, name);
          if (value === undefined) throw new Error(`parity mode has no ${name} for ${c.id}`);
          expectRelative(value, decodeScore(test.score), toleranceFor(result, name), name);
          const threshold = thresholdOf[name as StatTestName | "psi"];
          expect(threshold.threshold, `${name} threshold`).toBe(test.threshold);
          expect(isDrifted(value, threshold.threshold, threshold.rule), `${name} drift flag`).toBe(test.drifted);
        }
      });
    });
  }

  it("refuses a column Evidently types as text, as Evidently runs no drift test on it", () => {
    const e = byId.get(textCase.id) as EvidentlyResult;
    expect(e.column_type).toBe("text");
    expect(e.default).toBeUndefined();
    expect(inferColumnType(textCase.current).type).toBe("text");
    expect(() => parity("auto", textCase.reference, textCase.current)).toThrow(/as text/);
  });

  it("bins the integer column as numpy does for int64 data and the float twin as for float64", () => {
    const twin = cases.find((c) => c.id === "ints-0-20-n270000-reference-float") as Case;
    const int = parity("numerical", wideInts.reference, wideInts.current);
    const float = parity("numerical", twin.reference, twin.current);
    // The point of the pair: the dtype alone changes the bins, so both branches are exercised.
    expect(int.binning.edges?.length).toBe(21);
    expect(float.binning.edges?.length).toBe(22);
  });
});
