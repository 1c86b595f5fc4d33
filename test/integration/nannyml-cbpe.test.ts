import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type EstimatedQuality,
  estimateBinaryQuality,
  fitCalibrator,
} from "../../services/monitor/windowing/estimated-quality.ts";
import { projectRoot } from "../../services/shared/project.ts";
import { run as runCommand } from "../../tools/training/training-venv.ts";

const venv = join(projectRoot, ".stack", "nannyml-venv");
const requirements = join(projectRoot, "test", "fixtures", "nannyml", "requirements.txt");
const script = join(projectRoot, "test", "fixtures", "nannyml", "cbpe.py");
const metrics = ["accuracy", "precision", "recall", "f1", "roc_auc"] as const;
const chunkSize = 1000;

interface NannymlChunk {
  start: number;
  end: number;
  estimated: EstimatedQuality;
  realized: EstimatedQuality;
}

async function run(command: string, args: readonly string[]): Promise<string> {
  const { code, stdout } = await runCommand(command, args);
  if (code !== 0) throw new Error(`${command} ${args.join(" ")} exited with ${code}`);
  return stdout;
}

function generator(seed: number) {
  let a = seed >>> 0;
  const uniform = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (((t ^ (t >>> 14)) >>> 0) + 0.5) / 4294967296;
  };
  const normal = () => Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform());
  return { uniform, normal };
}

const sigmoid = (z: number) => 1 / (1 + Math.exp(-z));

interface Part {
  scores: number[];
  predicted: number[];
  labels: number[];
}

interface Scenario {
  name: string;
  seed: number;
  score: (z: number) => number;
  label: (z: number, uniform: number) => boolean;
  calibrates: boolean;
}

function draw(n: number, mean: number, scenario: Scenario, random: ReturnType<typeof generator>, into: Part) {
  for (let i = 0; i < n; i += 1) {
    const z = mean + 1.5 * random.normal();
    const score = scenario.score(z);
    into.scores.push(score);
    into.predicted.push(score >= 0.5 ? 1 : 0);
    into.labels.push(scenario.label(z, random.uniform()) ? 1 : 0);
  }
}

const scenarios: Scenario[] = [
  {
    name: "over-confident scores σ(1.8·z), labels drawn from σ(z): both calibrate",
    seed: 11,
    score: (z) => sigmoid(1.8 * z),
    label: (z, u) => u < sigmoid(z),
    calibrates: true,
  },
  {
    name: "perfectly ranked labels (z > 0), scores σ(z): neither calibrates",
    seed: 12,
    score: sigmoid,
    label: (z) => z > 0,
    calibrates: false,
  },
];

describe("CBPE estimates equal NannyML 0.13.1's", () => {
  let python = "";
  const dir = mkdtempSync(join(tmpdir(), "nannyml-cbpe-"));

  beforeAll(async () => {
    // The first run installs NannyML and its dependencies (minutes); later runs reuse the venv.
    const out = await run("bash", [join(projectRoot, "tools", "python-venv.sh"), venv, requirements]);
    python = out.trim().split("\n").at(-1) ?? "";
  }, 900_000);
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  for (const scenario of scenarios) {
    it(scenario.name, async () => {
      const random = generator(scenario.seed);
      const reference: Part = { scores: [], predicted: [], labels: [] };
      const analysis: Part = { scores: [], predicted: [], labels: [] };
      draw(5000, -1, scenario, random, reference);
      draw(5 * chunkSize, -1, scenario, random, analysis);
      draw(5 * chunkSize, 0.5, scenario, random, analysis);
      const input = join(dir, `${scenario.seed}.json`);
      writeFileSync(input, JSON.stringify({ reference, analysis, chunkSize }));
      const theirs = JSON.parse((await run(python, [script, input])).trim().split("\n").at(-1) ?? "") as {
        needsCalibration: boolean;
        chunks: NannymlChunk[];
      };

      const calibrator = fitCalibrator(
        reference.scores,
        reference.labels.map((l) => l === 1),
      );
      expect(theirs.needsCalibration).toBe(scenario.calibrates);
      expect(calibrator.calibrated).toBe(theirs.needsCalibration);
      expect(theirs.chunks.map((c) => [c.start, c.end])).toEqual(
        Array.from({ length: 10 }, (_, i) => [i * chunkSize, (i + 1) * chunkSize - 1]),
      );
      for (const chunk of theirs.chunks) {
        const rows = analysis.scores
          .slice(chunk.start, chunk.end + 1)
          .map((score, k) => ({ score, predictedPositive: analysis.predicted[chunk.start + k] === 1 }));
        const ours = estimateBinaryQuality(rows, calibrator);
        for (const metric of metrics) {
          const tolerance = metric === "roc_auc" ? 1e-6 : 1e-9;
          const difference = Math.abs(ours[metric] - chunk.estimated[metric]);
          expect(
            difference,
            `${metric}, rows ${chunk.start}–${chunk.end}: ours ${ours[metric]}, NannyML ${chunk.estimated[metric]}`,
          ).toBeLessThanOrEqual(tolerance);
        }
        if (scenario.calibrates) expect(Math.abs(ours.accuracy - chunk.realized.accuracy)).toBeLessThan(0.05);
      }
    });
  }
});
