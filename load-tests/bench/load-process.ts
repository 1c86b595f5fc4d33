// Starts the load client in its own process and returns its result; killed if it overruns.
import { spawn } from "node:child_process";
import { join } from "node:path";
import { projectRoot } from "../../services/shared/project.ts";
import type { LoadRequest, LoadResult } from "./load-client.ts";

const script = join(projectRoot, "load-tests", "bench", "load-client.ts");

export function runLoadProcess(request: LoadRequest, timeoutMs: number): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, JSON.stringify(request)], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.on("data", (chunk: Buffer) => {
      out += chunk.toString();
    });
    child.stderr.on("data", (chunk: Buffer) => {
      err += chunk.toString();
    });
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      const line = out.trim().split("\n").pop() ?? "";
      if (code !== 0 || !line) {
        reject(new Error(`load client exited with ${code}: ${err.slice(-2000)}`));
        return;
      }
      resolve(JSON.parse(line) as LoadResult);
    });
  });
}
