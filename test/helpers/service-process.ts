// Runs one of the services as its own Node process, as the local stack does, with the environment
// given on top of this process's, and waits until its /readyz answers 200 (or kills it and fails after
// a minute).
import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";
import { processEnvironment } from "../../services/shared/config.ts";
import { projectRoot } from "../../services/shared/project.ts";
import { waitFor } from "./integration.ts";

export async function startServiceProcess(
  service: "transformer" | "inference" | "monitor" | "producer",
  port: number,
  env: Record<string, string>,
): Promise<ChildProcess> {
  const child = spawn(process.execPath, [join(projectRoot, "services", service, "main.ts")], {
    env: { ...processEnvironment(), ...env },
    stdio: "ignore",
  });
  try {
    await waitFor(
      `the ${service} process to be ready`,
      async () => {
        const response = await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => undefined);
        return response?.ok ? true : undefined;
      },
      60_000,
    );
  } catch (error) {
    child.kill("SIGKILL");
    throw error;
  }
  return child;
}
