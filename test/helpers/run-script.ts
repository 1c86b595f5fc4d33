// Runs one of the project's scripts (a CLI) as its own Node process, as a user would, with the
// environment given on top of this process's, and collects its exit code and output.
import { spawn } from "node:child_process";
import { join } from "node:path";
import { processEnvironment } from "../../services/shared/config.ts";
import { projectRoot } from "../../services/shared/project.ts";

export interface ScriptRun {
  code: number | null;
  out: string;
  err: string;
}

/** `script` is relative to the project root, e.g. "tools/models/cli.ts". */
export function runScript(script: string, args: readonly string[], env: Record<string, string>): Promise<ScriptRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(projectRoot, script), ...args], {
      env: { ...processEnvironment(), ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    child.stdout.on("data", (chunk: Buffer) => {
      out += chunk.toString();
    });
    child.stderr.on("data", (chunk: Buffer) => {
      err += chunk.toString();
    });
    child.once("error", reject);
    child.once("exit", (code) => resolve({ code, out, err }));
  });
}
