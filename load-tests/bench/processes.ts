// The four services as child processes of the bench, as the stack runs them (their own settings,
// the ClickHouse writer, the stack's personal-data key), on free ports and for one bench pipeline
// alias; logs in a temporary folder (kept, and named in the error, when a start fails). stop()
// ends every child (SIGTERM, then SIGKILL), and they are killed if the bench exits first.
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadStackConfig } from "../../infra/local/config.ts";
import { freePort, httpOk, tail } from "../../infra/local/processes.ts";
import { type ServiceName, serviceEnvironment, serviceScript } from "../../infra/local/services.ts";
import { projectRoot } from "../../services/shared/project.ts";
import { fetchMetrics, sumMetric } from "../../tools/demo/metrics-text.ts";
import { waitUntil } from "./environment.ts";

/** Start order: consumers first, the ingest API last (as `stack up` does). */
const order: ServiceName[] = ["transformer", "inference", "monitor", "producer"];

const portSetting: Record<ServiceName, string> = {
  producer: "PRODUCER_PORT",
  inference: "INFERENCE_PORT",
  transformer: "TRANSFORMER_PORT",
  monitor: "MONITOR_PORT",
};

export interface ServiceProcesses {
  eventsUrl: string;
  /** A service's base URL (its /metrics, /readyz). */
  baseUrl(name: ServiceName): string;
  /** CPU-seconds (user + system, all threads) the service processes have used so far. */
  cpuSeconds(): number;
  /** Each service's event-loop delay p99 (ms) since the previous call (prom-client resets it on each scrape). */
  loopDelayP99(): Promise<number[]>;
  stop(): Promise<void>;
}

let ticksPerSecond: number | undefined;

/** utime + stime of a live process from /proc/<pid>/stat, in seconds. */
export function processCpuSeconds(pid: number): number {
  ticksPerSecond ??= Number(spawnSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).stdout.trim()) || 100;
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  // Fields after the command name (which may hold spaces), from field 3 (state) on.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / ticksPerSecond;
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once("exit", () => resolve()));
}

async function stopChild(child: ChildProcess, graceMs: number): Promise<void> {
  const gone = exited(child);
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
  await gone;
  clearTimeout(timer);
}

export async function startServiceProcesses(options: {
  /** `PIPELINES` of every service: `alias=definition`. */
  pipeline: string;
  alias: string;
  /** Settings beyond the services' defaults (e.g. INFERENCE_BATCH_SIZE). */
  env?: Record<string, string>;
  timeoutMs: number;
}): Promise<ServiceProcesses> {
  const stack = loadStackConfig();
  const logDir = mkdtempSync(join(tmpdir(), "streamscore-bench-"));
  const children = new Map<ServiceName, ChildProcess>();
  const ports = new Map<ServiceName, number>();
  const killAll = () => {
    for (const child of children.values()) child.kill("SIGKILL");
  };
  process.once("exit", killAll);
  let failed = false;
  const stop = async () => {
    process.off("exit", killAll);
    // The ingest API first, then the consumers: the reverse of the start order.
    for (const name of [...order].reverse()) {
      const child = children.get(name);
      if (child) await stopChild(child, 20_000);
    }
    if (!failed) rmSync(logDir, { recursive: true, force: true });
  };
  try {
    for (const name of order) {
      const port = await freePort();
      ports.set(name, port);
      const logFile = join(logDir, `${name}.log`);
      const log = openSync(logFile, "w");
      try {
        children.set(
          name,
          spawn(process.execPath, [serviceScript(name)], {
            cwd: projectRoot,
            stdio: ["ignore", log, log],
            env: serviceEnvironment(stack, name, {
              PIPELINES: options.pipeline,
              LOG_LEVEL: "warn",
              ...options.env,
              [portSetting[name]]: String(port),
            }),
          }),
        );
      } finally {
        closeSync(log);
      }
      const child = children.get(name) as ChildProcess;
      await waitUntil(
        `${name} ready on port ${port}`,
        async () => {
          if (child.exitCode !== null || child.signalCode !== null) {
            throw new Error(`${name} exited during start-up (log: ${logFile}):\n${tail(logFile, 20)}`);
          }
          return (await httpOk(`http://127.0.0.1:${port}/readyz`)) ? true : undefined;
        },
        options.timeoutMs,
        250,
      );
    }
  } catch (error) {
    failed = true;
    await stop();
    throw error;
  }
  const pids = [...children.values()].map((c) => c.pid as number);
  return {
    eventsUrl: `http://127.0.0.1:${ports.get("producer")}/v1/pipelines/${options.alias}/events`,
    baseUrl: (name) => `http://127.0.0.1:${ports.get(name)}`,
    cpuSeconds: () => pids.reduce((sum, pid) => sum + processCpuSeconds(pid), 0),
    loopDelayP99: () =>
      Promise.all(
        order.map(
          async (name) =>
            sumMetric(
              await fetchMetrics(`http://127.0.0.1:${ports.get(name)}/metrics`),
              "streamscore_nodejs_eventloop_lag_p99_seconds",
            ) * 1000,
        ),
      ),
    stop,
  };
}
