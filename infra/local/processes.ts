// Daemon bookkeeping for the local stack: start a detached process with its output in a log file,
// remember its pid, tell whether it still runs, stop it within a bound.
import { spawn, spawnSync } from "node:child_process";
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { createConnection, createServer } from "node:net";
import { dirname } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { StreamscoreError } from "../../services/shared/errors.ts";

export interface DaemonSpec {
  command: string;
  args: string[];
  cwd: string;
  logFile: string;
  pidFile: string;
  env?: Readonly<Record<string, string | undefined>>;
}

export function readPid(pidFile: string): number | undefined {
  if (!existsSync(pidFile)) return undefined;
  const pid = Number.parseInt(readFileSync(pidFile, "utf8").trim(), 10);
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

export function isAlive(pid: number | undefined): pid is number {
  if (pid === undefined) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export function startDaemon(spec: DaemonSpec): number {
  mkdirSync(dirname(spec.logFile), { recursive: true });
  mkdirSync(dirname(spec.pidFile), { recursive: true });
  // Keep the previous run's log beside the new one; a fresh file makes "started" lines unambiguous.
  if (existsSync(spec.logFile)) renameSync(spec.logFile, `${spec.logFile}.previous`);
  const log = openSync(spec.logFile, "w");
  try {
    const child = spawn(spec.command, spec.args, {
      cwd: spec.cwd,
      detached: true,
      stdio: ["ignore", log, log],
      env: spec.env,
    });
    if (child.pid === undefined) {
      throw new StreamscoreError("STACK_START_FAILED", `could not start ${spec.command}; see ${spec.logFile}`);
    }
    child.unref();
    writeFileSync(spec.pidFile, `${child.pid}\n`);
    return child.pid;
  } finally {
    closeSync(log);
  }
}

/** SIGTERM, then SIGKILL after the grace period. Returns once the process is gone. */
export async function stopDaemon(pidFile: string, graceMs = 20_000): Promise<boolean> {
  const pid = readPid(pidFile);
  if (!isAlive(pid)) {
    rmSync(pidFile, { force: true });
    return false;
  }
  process.kill(pid, "SIGTERM");
  const deadline = Date.now() + graceMs;
  while (isAlive(pid) && Date.now() < deadline) await sleep(200);
  if (isAlive(pid)) process.kill(pid, "SIGKILL");
  while (isAlive(pid)) await sleep(100);
  rmSync(pidFile, { force: true });
  return true;
}

export function isPortOpen(port: number, host = "127.0.0.1", timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolvePromise) => {
    const socket = createConnection({ port, host });
    const done = (open: boolean) => {
      socket.destroy();
      resolvePromise(open);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once("connect", () => done(true));
    socket.once("error", () => done(false));
  });
}

export async function httpOk(url: string, timeoutMs = 2000): Promise<boolean> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    await response.arrayBuffer();
    return response.ok;
  } catch {
    return false;
  }
}

/** Polls `check` until it holds; fails with the last lines of the log when the time is up or the process died. */
export async function waitUntilHealthy(
  name: string,
  check: () => Promise<boolean>,
  options: { timeoutMs: number; pid?: number; logFile: string },
): Promise<void> {
  const deadline = Date.now() + options.timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    if (options.pid !== undefined && !isAlive(options.pid)) {
      throw new StreamscoreError("STACK_START_FAILED", `${name} exited during start-up:\n${tail(options.logFile)}`);
    }
    await sleep(250);
  }
  throw new StreamscoreError(
    "STACK_TIMEOUT",
    `${name} was not healthy after ${options.timeoutMs / 1000}s:\n${tail(options.logFile)}`,
  );
}

export function tail(file: string, lines = 30): string {
  if (!existsSync(file)) return `(no log at ${file})`;
  return readFileSync(file, "utf8").trimEnd().split("\n").slice(-lines).join("\n");
}

/** Runs a command to completion with its output shown, failing with a clear message. */
export function runVisible(command: string, args: string[], what: string, cwd?: string): void {
  const result = spawnSync(command, args, { stdio: "inherit", cwd });
  if (result.error || result.status !== 0) {
    throw new StreamscoreError(
      "STACK_INSTALL_FAILED",
      `${what} failed (${command} ${args.join(" ")}): ${result.error?.message ?? `exit code ${result.status}`}`,
    );
  }
}

/** Like runVisible, but shows the command's output only when it fails (for chatty tools). */
/** `secretArgs`: the arguments hold secrets, so a failure names only the command. */
export function runQuiet(command: string, args: string[], what: string, secretArgs = false): void {
  const result = spawnSync(command, args, { encoding: "utf8" });
  if (result.error || result.status !== 0) {
    throw new StreamscoreError(
      "STACK_INSTALL_FAILED",
      `${what} failed (${command}${secretArgs ? "" : ` ${args.join(" ")}`}): ${result.error?.message ?? `exit code ${result.status}`}\n${result.stdout}${result.stderr}`,
    );
  }
}

export function commandExists(command: string): boolean {
  return spawnSync("sh", ["-c", `command -v ${command}`], { stdio: "ignore" }).status === 0;
}

/**
 * A loopback port nothing listens on right now (for servers a test, the bench or chaos starts).
 * Drawn below Linux's ephemeral range (32768 and up), where the kernel picks ports for outgoing
 * connections: a port from `listen(0)` could be taken by one before the server starts.
 */
/** Ports handed out by this process: one not yet bound by its taker still looks free. */
const handedOut = new Set<number>();

export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 100; attempt += 1) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    if (handedOut.has(port) || !(await canListen(port))) continue;
    handedOut.add(port);
    return port;
  }
  throw new Error("no free loopback port between 20000 and 32000");
}

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(false));
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
  });
}
