// Evidently types a column from its pandas dtype; these cases pin the dtype pandas gives a Series of
// the same Python values and Evidently's rules on it (evidently.core.datasets.infer_column_type).
// The integration test (evidently-parity.test.ts) checks the same functions against pandas and
// Evidently themselves on its generated columns.
import { describe, expect, it } from "vitest";
import {
  distinctCount,
  INTEGER_CARDINALITY_LIMIT,
  inferColumnType,
  inferDtype,
} from "../../../../services/monitor/drift/column-type.ts";
import { parity } from "../../../../services/monitor/drift/parity.ts";

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

describe("inferDtype", () => {
  it.each([
    ["integers", [1, 2, 3], "int64"],
    ["negative integers and zero", [-5, 0, 7], "int64"],
    ["a fraction", [1, 2.5], "float64"],
    ["integers with a missing value (None becomes NaN)", [1, null, 3], "float64"],
    ["integers with NaN", [1, Number.NaN], "float64"],
    ["integers with an infinity", [1, Number.POSITIVE_INFINITY], "float64"],
    ["an integer beyond int64", [1, 2 ** 63], "uint64"],
    ["an integer beyond int64 with a negative one", [-1, 2 ** 63], "object"],
    ["an integer beyond uint64", [1, 2 ** 64], "object"],
    ["an integer JavaScript writes with an exponent", [1, 1e21], "float64"],
    ["booleans", [true, false, true], "bool"],
    ["booleans with a missing value", [true, null], "object"],
    ["booleans and numbers", [true, 1], "object"],
    ["strings", ["a", "b"], "object"],
    ["strings and numbers", ["a", 1], "object"],
    ["nothing", [], "object"],
    ["only missing values", [null, undefined], "object"],
  ])("%s", (_, values, dtype) => {
    expect(inferDtype(values)).toBe(dtype);
  });

  it("makes integer-valued numbers float64 when the caller says one was written as a float", () => {
    expect(inferDtype([1, 2, 3], { floatLiterals: true })).toBe("float64");
    expect(inferDtype([1, 2, 3], { floatLiterals: false })).toBe("int64");
  });
});

describe("inferColumnType", () => {
  it("types an integer column by its distinct values: at most 10 categorical, more numerical", () => {
    const ten = range(INTEGER_CARDINALITY_LIMIT);
    expect(inferColumnType([...ten, ...ten]).type).toBe("categorical");
    expect(inferColumnType([...ten, INTEGER_CARDINALITY_LIMIT]).type).toBe("numerical");
    expect(inferColumnType([0, 1, 1, 0])).toMatchObject({ type: "categorical", dtype: "int64", distinct: 2 });
  });

  it("keeps float columns numerical however few their values", () => {
    expect(inferColumnType([0.5, 1.5, 0.5]).type).toBe("numerical");
    // Integer values with a missing one are float64 in pandas, so numerical.
    expect(inferColumnType([1, 2, null, 1])).toMatchObject({ type: "numerical", dtype: "float64" });
  });

  it("makes booleans categorical, and booleans with a missing value unknown", () => {
    expect(inferColumnType([true, false]).type).toBe("categorical");
    expect(inferColumnType([true, null, false]).type).toBe("unknown");
  });

  it("makes strings text when more than half of the present values are distinct", () => {
    expect(inferColumnType(["a", "a", "b", "b"]).type).toBe("categorical");
    expect(inferColumnType(["a", "b", "c", "c"]).type).toBe("text");
    // Missing values count in neither the distinct values nor the present ones.
    expect(inferColumnType(["a", null, "a", null, "b", null])).toMatchObject({ type: "text", distinct: 2 });
    expect(inferColumnType(["a", null, "a", "a", "b", null]).type).toBe("categorical");
  });

  it("looks only at the first and last present value of a mixed column, as Evidently does", () => {
    expect(inferColumnType(["a", 1, 1, 1, "a"]).type).toBe("categorical");
    expect(inferColumnType([1, "a", "a", "a"]).type).toBe("unknown");
    expect(inferColumnType([null, null]).type).toBe("unknown");
    expect(inferColumnType([1, 2 ** 63]).type).toBe("unknown");
    expect(inferColumnType([1, 2 ** 64]).type).toBe("unknown");
  });

  it("follows a dtype the caller knows better", () => {
    expect(inferColumnType([1, 2, 1], "float64").type).toBe("numerical");
  });

  it("does not count NaN as a distinct value", () => {
    expect(distinctCount([1, Number.NaN, 1, null, 2])).toBe(2);
  });
});

describe("parity with the type left to inference", () => {
  it("drifts a low-cardinality integer column as categorical and says why", () => {
    const result = parity("auto", [1, 2, 3, 1, 2, 3], [1, 1, 1, 2, 3, 3]);
    expect(result.featureType).toBe("categorical");
    expect(result.inferredType).toMatchObject({ type: "categorical", dtype: "int64", distinct: 3 });
    expect(result.defaultTest.name).toBe("chisquare");
  });

  it("types from the current sample, as Evidently's drift metric does", () => {
    const floats = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6];
    expect(parity("auto", floats, [1, 2, 1, 2]).featureType).toBe("categorical");
    expect(parity("auto", [1, 2, 1, 2], floats).featureType).toBe("numerical");
  });

  it("refuses text and unknown columns", () => {
    expect(() => parity("auto", ["a", "b"], ["x", "y", "z"])).toThrow(/as text/);
    expect(() => parity("auto", [true], [true, null])).toThrow(/as unknown/);
  });
});
