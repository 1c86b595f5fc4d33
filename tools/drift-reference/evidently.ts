// Evidently itself, from Node: `evidentlyPython()` makes (or reuses) .stack/evidently-venv with the
// pinned requirements through the project's one venv helper, `runEvidently()` runs
// evidently-reference.py on a batch of columns in it. The parity test against Evidently uses these.
import { spawn } from "node:child_process";
import { join } from "node:path";
import { processEnvironment } from "../../services/shared/config.ts";
import { StreamscoreError } from "../../services/shared/errors.ts";
import { projectRoot } from "../../services/shared/project.ts";

const here = join(projectRoot, "tools", "drift-reference");
export const evidentlyVenv = join(projectRoot, ".stack", "evidently-venv");
export const evidentlyRequirements = join(here, "requirements.txt");
const referenceScript = join(here, "evidently-reference.py");
const venvScript = join(projectRoot, "tools", "python-venv.sh");

/** A value as the script reads it: non-finite numbers, which JSON cannot carry, as {"$float": …}. */
export type EncodedValue = string | number | boolean | null | { $float: "NaN" | "Infinity" | "-Infinity" };

export interface EvidentlyCase {
  id: string;
  type: "numerical" | "categorical" | "auto";
  reference: EncodedValue[];
  current: EncodedValue[];
}

export interface EvidentlyTest {
  score: EncodedValue;
  drifted: boolean;
  threshold: number;
}

export interface EvidentlyResult {
  id: string;
  dtypes: { reference: string; current: string };
  /** The type Evidently drifted the column as: given, or inferred from the current dataset. */
  column_type: string;
  inferred: { reference: string; current: string };
  n_reference?: number;
  n_current?: number;
  combined_distinct?: number;
  tests?: Record<string, EvidentlyTest>;
  default?: { stattest: string; score: EncodedValue; threshold: number; drifted: boolean };
}

export interface EvidentlyOutput {
  versions: Record<string, string>;
  results: EvidentlyResult[];
}

export function encodeValue(value: string | number | boolean | null | undefined): EncodedValue {
  if (value === undefined || value === null) return null;
  if (typeof value === "number" && !Number.isFinite(value)) {
    return { $float: Number.isNaN(value) ? "NaN" : value > 0 ? "Infinity" : "-Infinity" };
  }
  return value;
}

export function decodeScore(value: EncodedValue): number {
  if (typeof value === "number") return value;
  if (value !== null && typeof value === "object") {
    return { NaN: Number.NaN, Infinity: Number.POSITIVE_INFINITY, "-Infinity": Number.NEGATIVE_INFINITY }[value.$float];
  }
  throw new StreamscoreError("DRIFT_INPUT_INVALID", `not a score: ${JSON.stringify(value)}`);
}

interface Finished {
  code: number | null;
  stdout: string;
}

/** Runs a command with `input` on stdin; stdout is collected, stderr (pip's, Python's) goes to ours. */
function run(command: string, args: readonly string[], input = ""): Promise<Finished> {
  return new Promise((resolve, reject) => {
    // DO_NOT_TRACK switches off Evidently's usage telemetry: a test run must not phone home.
    const child = spawn(command, args, {
      cwd: projectRoot,
      stdio: ["pipe", "pipe", "inherit"],
      env: { ...processEnvironment(), DO_NOT_TRACK: "1" },
    });
    const chunks: Buffer[] = [];
    child.stdout.on("data", (chunk: Buffer) => chunks.push(chunk));
    child.once("error", reject);
    child.once("close", (code) => resolve({ code, stdout: Buffer.concat(chunks).toString() }));
    child.stdin.end(input);
  });
}

/** The venv's python, creating the venv or installing the pinned requirements first when needed. */
export async function evidentlyPython(): Promise<string> {
  const { code, stdout } = await run("bash", [venvScript, evidentlyVenv, evidentlyRequirements]);
  const python = stdout.trim().split("\n").at(-1) ?? "";
  if (code !== 0 || python === "") {
    throw new StreamscoreError(
      "REQUEST_INVALID",
      `the Evidently venv could not be made (bash ${venvScript} exited with ${code}); see its output above`,
    );
  }
  return python;
}

/** Evidently's results for `cases`, in their order (one Python process: importing Evidently is slow). */
export async function runEvidently(python: string, cases: readonly EvidentlyCase[]): Promise<EvidentlyOutput> {
  const { code, stdout } = await run(python, [referenceScript], JSON.stringify({ cases }));
  if (code !== 0) {
    throw new StreamscoreError("REQUEST_INVALID", `evidently-reference.py exited with ${code}; see its output above`);
  }
  return JSON.parse(stdout) as EvidentlyOutput;
}
