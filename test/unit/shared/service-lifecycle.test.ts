// A service's process: a stop during start-up, and a start that fails half way, leave nothing open.
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it, onTestFinished } from "vitest";
import { closeInOrder, stopIfStartFails } from "../../../services/shared/lifecycle.ts";

const serviceFile = join(
  dirname(fileURLToPath(import.meta.url)),
  "..",
  "..",
  "fixtures",
  "lifecycle",
  "slow-start-service.ts",
);

interface RunningService {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

function startService(args: string[]): RunningService {
  const child = spawn(process.execPath, [serviceFile, ...args], { stdio: ["pipe", "pipe", "inherit"] });
  onTestFinished(() => {
    if (child.exitCode === null) child.kill("SIGKILL");
  });
  let output = "";
  child.stdout?.on("data", (chunk: Buffer) => {
    output += chunk.toString();
  });
  const exited = once(child, "exit").then(([code]) => code as number | null);
  return { child, output: () => output, exited };
}

/** Resolves once the service has printed `text` (without consuming its stdout), or its exit code. */
async function untilPrinted({ child, output, exited }: RunningService, text: string): Promise<void> {
  while (!output().includes(text) && child.exitCode === null) {
    await Promise.race([once(child.stdout as NodeJS.ReadableStream, "data"), exited]);
  }
}

/** Starts the service, sends SIGTERM once start-up has opened its server, then lets start-up go on. */
async function sigtermDuringStartup(args: string[]): Promise<{ code: number | null; output: string }> {
  const service = startService(args);
  await untilPrinted(service, "opened");
  service.child.kill("SIGTERM");
  await untilPrinted(service, "shutting down");
  service.child.stdin?.on("error", () => {}).end("go\n");
  const code = await service.exited;
  return { code, output: service.output() };
}

describe("runService", () => {
  it("on SIGTERM during start-up waits for start-up, stops what it opened, then exits 0", async () => {
    const { code, output } = await sigtermDuringStartup([]);
    expect(code).toBe(0);
    expect(output).toContain("closed");
  });

  it("exits 1 when start-up fails after a SIGTERM", async () => {
    const { code, output } = await sigtermDuringStartup(["fail"]);
    expect(code).toBe(1);
    expect(output).not.toContain("closed");
  });
});

describe("stopIfStartFails", () => {
  it("stops what a failed start opened and rethrows the start's error", async () => {
    const open = new Set<string>();
    const started = stopIfStartFails(
      async () => {
        open.add("server");
        throw new Error("Local: Broker transport failure");
      },
      async () => {
        open.delete("server");
        throw new Error("close failed too");
      },
    );
    await expect(started).rejects.toThrow("Local: Broker transport failure");
    expect(open.size).toBe(0);
  });

  it("returns what a successful start returns and stops nothing", async () => {
    let stops = 0;
    const started = await stopIfStartFails(
      async () => "running",
      async () => {
        stops += 1;
      },
    );
    expect(started).toBe("running");
    expect(stops).toBe(0);
  });
});

describe("closeInOrder", () => {
  it("runs every step in order even after one fails, then throws the first failure", async () => {
    const closed: string[] = [];
    const closing = closeInOrder([
      async () => closed.push("service"),
      async () => {
        throw new Error("producer disconnect failed");
      },
      async () => {
        closed.push("server");
        throw new Error("second failure");
      },
    ]);
    await expect(closing).rejects.toThrow("producer disconnect failed");
    expect(closed).toEqual(["service", "server"]);
  });
});
