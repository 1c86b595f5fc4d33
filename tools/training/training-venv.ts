// The training venv and train.py from Node: `trainingPython()` runs training-venv.sh (the one way
// the venv is made, shared with train.sh), `runTrainer()` runs train.py in it. The retrain command
// and its integration test both call these, so they can never use different interpreters.
import { spawn } from "node:child_process";
import { join } from "node:path";
import { StreamscoreError } from "../../services/shared/errors.ts";
import { projectRoot } from "../../services/shared/project.ts";

export const trainScript = join(projectRoot, "tools", "training", "train.py");
const venvScript = join(projectRoot, "tools", "training", "training-venv.sh");

export interface Finished {
  code: number | null;
  stdout: string;
}

/** Runs a command; stdout is collected, stderr (pip's and the trainer's progress) goes to ours. */
export function run(command: string, args: readonly string[]): Promise<Finished> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: projectRoot, stdio: ["ignore", "pipe", "inherit"] });
    let stdout = "";
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.once("error", reject);
    child.once("close", (code) => resolve({ code, stdout }));
  });
}

/** The venv's python, creating the venv or installing the pinned requirements first when needed. */
export async function trainingPython(): Promise<string> {
  const { code, stdout } = await run("bash", [venvScript]);
  const python = stdout.trim().split("\n").at(-1) ?? "";
  if (code !== 0 || python === "") {
    throw new StreamscoreError(
      "REQUEST_INVALID",
      `the training venv could not be made (bash ${venvScript} exited with ${code}); see its output above`,
    );
  }
  return python;
}

/** Runs train.py with `args` and returns the JSON object it prints as its last stdout line. */
export async function runTrainer(python: string, args: readonly string[]): Promise<Record<string, unknown>> {
  const { code, stdout } = await run(python, [trainScript, ...args]);
  if (code !== 0) {
    throw new StreamscoreError("MODEL_INVALID", `train.py exited with ${code}; its reason is in the output above`);
  }
  const last = stdout.trim().split("\n").at(-1) ?? "";
  try {
    return JSON.parse(last) as Record<string, unknown>;
  } catch {
    throw new StreamscoreError("MODEL_INVALID", `train.py printed no result line (last line: ${last.slice(0, 200)})`);
  }
}
