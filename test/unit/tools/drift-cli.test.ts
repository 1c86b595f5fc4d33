import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it, onTestFinished } from "vitest";
import { decodeNumbers, loadDriftVectors } from "../../helpers/drift-vectors.ts";

const cli = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..", "tools", "drift-cli.ts");

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "drift-cli-"));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function runCli(args: string[]) {
  const result = spawnSync(process.execPath, [cli, ...args], { encoding: "utf8" });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe("drift CLI", () => {
  it("reproduces a parity vector from two JSON files", () => {
    const testCase = loadDriftVectors().cases.find((c) => c.id === "small_numeric_unequal_n");
    const dir = tempDir();
    const reference = join(dir, "reference.json");
    const current = join(dir, "current.json");
    writeFileSync(reference, JSON.stringify(decodeNumbers(testCase.reference)));
    writeFileSync(current, JSON.stringify(decodeNumbers(testCase.current)));

    const { status, stdout, stderr } = runCli([
      "--reference",
      reference,
      "--current",
      current,
      "--mode",
      "parity",
      "--json",
    ]);
    expect(stderr).toBe("");
    expect(status).toBe(0);
    const report = JSON.parse(stdout);
    const expected = testCase.expected;
    expect(report).toMatchObject({ mode: "parity", type: "numerical" });
    expect(report.defaultTest.name).toBe(expected.evidently_default.stattest);
    expect(report.defaultTest.drifted).toBe(expected.evidently_default.drift_detected);
    expect(report.defaultTest.score / expected.evidently_default.drift_score).toBeCloseTo(1, 9);
    expect(report.statistics.psi).toBeCloseTo(expected.psi.value, 12);
    expect(report.statistics.jensenShannon.distance).toBeCloseTo(expected.jensenshannon.value, 12);
    expect(report.statistics.wasserstein.normed).toBeCloseTo(expected.wasserstein.value, 12);
    expect(report.statistics.ks.statistic).toBeCloseTo(expected.ks.statistic, 12);
    expect(report.statistics.tTest.pValue / expected.t_test.value).toBeCloseTo(1, 9);
  });

  it("infers a categorical column from strings and writes streaming verdicts", () => {
    const dir = tempDir();
    const reference = join(dir, "reference.json");
    const current = join(dir, "current.json");
    writeFileSync(reference, JSON.stringify(["a", "b", "a", "b", "a", null]));
    writeFileSync(current, JSON.stringify(["a", "c", "c", "b"]));

    const { status, stdout } = runCli(["--reference", reference, "--current", current, "--json"]);
    expect(status).toBe(0);
    const report = JSON.parse(stdout);
    expect(report).toMatchObject({ mode: "streaming", type: "categorical", bins: 2 });
    expect(report.statistics.unseenShare).toBe(0.5);
    expect(report.statistics.window).toMatchObject({ total: 4, missing: 0 });
    expect(report.verdicts.unseenShare).toEqual({ value: 0.5, threshold: 0.01, drifted: true });
    expect(report.defaultTest).toMatchObject({ name: "z", threshold: 0.05 });
  });

  it("reads a chosen CSV column and prints a table without --json", () => {
    const dir = tempDir();
    const reference = join(dir, "reference.csv");
    const current = join(dir, "current.csv");
    writeFileSync(reference, 'id,amount\n1,10\n2,12\n3,"11"\n4,\n5,13\n');
    writeFileSync(current, "id,amount\n1,10\n2,inf\n3,15\n4,16\n");

    const json = JSON.parse(
      runCli(["--reference", reference, "--current", current, "--column", "amount", "--json"]).stdout,
    );
    expect(json).toMatchObject({ type: "numerical", column: "amount" });
    expect(json.statistics.window).toMatchObject({ total: 4, nonFinite: 1 });
    expect(json.statistics.count).toBe(3);

    const single = runCli(["--reference", reference, "--current", reference, "--column", "amount", "--mode", "parity"]);
    expect(single.status).toBe(0);
    // Four distinct values in a small reference: Evidently's default is chi-square.
    expect(single.stdout).toMatch(/^defaultTest\.name\s+chisquare$/m);
    expect(single.stdout).toMatch(/^defaultTest\.drifted\s+false$/m);
    expect(JSON.parse(runCli(["--reference", reference, "--current", reference, "--json"]).stdout).type).toBe(
      "numerical",
    );
  });

  it("explains its usage and exits 2 on bad arguments", () => {
    const missing = runCli(["--reference", "x.json"]);
    expect(missing.status).toBe(2);
    expect(missing.stderr).toMatch(/--reference and --current are required/);
    expect(missing.stderr).toMatch(/usage: drift-cli/);
  });
});

describe("drift CLI --type auto", () => {
  function parityAuto(reference: string, current: string, extension = "json") {
    const dir = tempDir();
    const referencePath = join(dir, `reference.${extension}`);
    const currentPath = join(dir, `current.${extension}`);
    writeFileSync(referencePath, reference);
    writeFileSync(currentPath, current);
    return runCli([
      "--reference",
      referencePath,
      "--current",
      currentPath,
      "--mode",
      "parity",
      "--type",
      "auto",
      "--json",
    ]);
  }

  it("drifts a JSON column of few integers as categorical, keeping the integers as keys", () => {
    const { status, stdout } = parityAuto("[1, 2, 3, 1, 2, 3, 10]", "[1, 1, 1, 2, 3, 3, 10]");
    expect(status).toBe(0);
    const report = JSON.parse(stdout);
    expect(report).toMatchObject({ type: "categorical", inferredType: { type: "categorical", dtype: "int64" } });
    expect(report.statistics.binning.keys).toEqual([1, 2, 3, 10]);
    expect(report.defaultTest.name).toBe("chisquare");
  });

  it("reads 1.0 in JSON as a float, as Python does: the same values become numerical", () => {
    const { stdout } = parityAuto("[1, 2, 3, 1, 2, 3]", "[1.0, 1, 1, 2, 3, 3]");
    const report = JSON.parse(stdout);
    expect(report.inferredType).toMatchObject({ type: "numerical", dtype: "float64" });
    expect(report.statistics.dtypes).toEqual({ reference: "int64", current: "float64" });
  });

  it("types more than ten distinct integers as numerical", () => {
    const values = JSON.stringify(Array.from({ length: 11 }, (_, i) => i));
    expect(JSON.parse(parityAuto(values, values).stdout).type).toBe("numerical");
  });

  it("reads CSV cells as pandas does: integer cells int64, a decimal point float64", () => {
    const ints = parityAuto("v\n1\n2\n2\n3\n", "v\n1\n2\n3\n3\n", "csv");
    expect(JSON.parse(ints.stdout).inferredType).toMatchObject({ type: "categorical", dtype: "int64" });
    const floats = parityAuto("v\n1\n2\n2\n3\n", "v\n1.0\n2\n3\n3\n", "csv");
    expect(JSON.parse(floats.stdout).inferredType).toMatchObject({ type: "numerical", dtype: "float64" });
  });

  it("refuses a column Evidently would type as text, and says so", () => {
    const { status, stderr } = parityAuto('["a", "b", "c"]', '["x", "y", "z", "w"]');
    expect(status).toBe(2);
    expect(stderr).toMatch(/as text/);
  });
});
