import { describe, expect, it } from "vitest";
import { sturgesEdges } from "../../../../services/monitor/drift/histogram.ts";
import { splitCategorical } from "../../../../services/monitor/drift/quality.ts";

describe("sturgesEdges", () => {
  // 400 values 0..3: Sturges' width is 3/(log2(400) + 1) ≈ 0.31.
  const pooled = Array.from({ length: 400 }, (_, i) => i % 4);

  it("splits float data into ceil(ptp/width) bins", () => {
    const width = 3 / (Math.log2(400) + 1);
    expect(sturgesEdges(pooled)).toHaveLength(Math.ceil(3 / width) + 1);
  });

  it("widens bins narrower than 1 to 1 for integer data, as numpy does for integer dtypes", () => {
    expect(sturgesEdges(pooled, true)).toEqual([0, 1, 2, 3]);
  });

  it("leaves integer data alone when the width is already at least 1", () => {
    const wide = Array.from({ length: 16 }, (_, i) => i * 10);
    expect(sturgesEdges(wide, true)).toEqual(sturgesEdges(wide, false));
  });

  it("gives a constant integer column one bin around its value", () => {
    expect(sturgesEdges([5, 5, 5], true)).toEqual([4.5, 5.5]);
  });
});

describe("splitCategorical", () => {
  it("drops infinities like Evidently and counts them apart from missing values", () => {
    const { present, quality } = splitCategorical([1.5, Number.POSITIVE_INFINITY, null, Number.NaN, "a", -1 / 0]);
    expect(present).toEqual([1.5, "a"]);
    expect(quality).toMatchObject({ total: 6, missing: 2, nonFinite: 2 });
  });
});
