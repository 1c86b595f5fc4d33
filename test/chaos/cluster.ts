// The system under test for a chaos run: its own Kafka broker and ClickHouse (the stack library,
// under a folder of their own and on free ports, because the faults kill them) and the services as
// child processes: 1 producer, 2 transformers, 2 inference instances, 1 monitor. Every process it
// starts is killed when the run ends, on failure too. A schema registry of its own too, unless one is given.
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, openSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { clickhouseComponent } from "../../infra/local/clickhouse.ts";
import type { StackComponent } from "../../infra/local/component.ts";
import { kafkaComponent } from "../../infra/local/kafka.ts";
import { freePort, httpOk, isAlive, readPid } from "../../infra/local/processes.ts";
import { schemaRegistryComponent } from "../../infra/local/schema-registry.ts";
import { serviceNodeFlags } from "../../infra/local/services.ts";
import { createClickHouse } from "../../services/shared/clickhouse/client.ts";
import { migrate } from "../../services/shared/clickhouse/migrations.ts";
import { processEnvironment } from "../../services/shared/config.ts";
import { loadConnectionConfig } from "../../services/shared/connection-settings.ts";
import { describeError } from "../../services/shared/errors.ts";
import { createKafka } from "../../services/shared/kafka/client.ts";
import { ensureTopics } from "../../services/shared/kafka/topics.ts";
import { createLogger } from "../../services/shared/logger.ts";
import { pipelineTopicSpecs } from "../../services/shared/pipeline/records.ts";
import { getPipeline } from "../../services/shared/pipelines/index.ts";
import { projectRoot } from "../../services/shared/project.ts";
import { waitUntil } from "../../services/shared/wait.ts";
import { linkSharedInstalls, ownStackConfig } from "../helpers/own-stack.ts";
import {
  faultTarget,
  type InstanceName,
  instanceNames,
  memoryCapsMiB,
  type ScheduledFault,
  spareInstances,
} from "./schedule.ts";

export interface ClusterOptions {
  /** Folder for the broker's and ClickHouse's data and every log; wiped at start. */
  dir: string;
  /** Pipeline name the services run (`name=payments`). */
  pipeline: string;
  /** A schema registry to reuse; unset starts one of the run's own. */
  registryUrl?: string;
  /** Share of transactions the transformers and inference instances abort on purpose. */
  abortShare: number;
  /** Partitions per topic when not the definition's (topics are created before the services start). */
  partitions?: number;
  /** Model folder the services load (MODELS_ROOT); unset: the project's. */
  modelsRoot?: string;
  /** Applies the next model change (a "model-change" fault) and says what it did. */
  changeModel?: () => Promise<string>;
  log: (line: string) => void;
}

export interface FaultRecord {
  kind: ScheduledFault["kind"];
  target: string;
  /** ms since the run started, when the fault was injected and when the target was back. */
  at: number;
  recoveredAt: number;
  /** What the injector saw, e.g. whether an insert was running when ClickHouse was killed. */
  note?: string;
}

/** An instance's /readyz answer changed: to ready, or to not ready and why (also "no answer"). */
export interface ReadinessChange {
  instance: InstanceName;
  /** ms since the run started. */
  at: number;
  ready: boolean;
  reason: string;
}

/** Peak resident memory of one process (over its restarts) against its service's cap. */
export interface MemoryPeak {
  process: string;
  peakMiB: number;
  capMiB: number;
}

/** CPU time a process has used so far (user + system), in seconds, from /proc (clock ticks of 1/100 s). */
function cpuSecondsOf(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after the command name (which may hold spaces): utime and stime are the 12th and 13th.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return undefined;
  }
}

/** Resident set size of a process in MiB, from /proc (undefined once it is gone). */
function residentMiB(pid: number): number | undefined {
  try {
    const match = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return match ? Number(match[1]) / 1024 : undefined;
  } catch {
    return undefined;
  }
}

interface Instance {
  name: InstanceName;
  service: "producer" | "transformer" | "inference" | "monitor";
  port: number;
  child: ChildProcess | undefined;
  /** Set while the harness itself stops the process, so the exit is not taken for a crash. */
  expectingExit: boolean;
}

const portSetting = {
  producer: "PRODUCER_PORT",
  transformer: "TRANSFORMER_PORT",
  inference: "INFERENCE_PORT",
  monitor: "MONITOR_PORT",
} as const;

export async function createChaosCluster(options: ClusterOptions) {
  const { dir, log } = options;
  const stackConfig = await ownStackConfig(dir, { STACK_KAFKA_HEAP: "384m" });
  const kafka: StackComponent = kafkaComponent(stackConfig);
  const clickhouse: StackComponent = clickhouseComponent(stackConfig);
  const ownRegistry = options.registryUrl === undefined ? schemaRegistryComponent(stackConfig) : undefined;
  const registryUrl = options.registryUrl ?? (ownRegistry as StackComponent).endpoint;
  const brokers = `127.0.0.1:${stackConfig.STACK_KAFKA_PORT}`;
  const clickhouseUrl = `http://127.0.0.1:${stackConfig.STACK_CLICKHOUSE_HTTP_PORT}`;
  /** The run's key for the transformer's hashing of personal fields. */
  const personalDataKey = randomBytes(32).toString("hex");
  const startedAt = Date.now();
  const since = () => Date.now() - startedAt;
  const faults: FaultRecord[] = [];
  /** Exits nobody asked for (a service crashing by itself), restarted like a supervisor would. */
  const crashes: Array<{ instance: InstanceName; at: number; code: number | null; signal: string | null }> = [];
  /** Faults whose target did not come back (e.g. not ready within 120 s of its restart). */
  const unrecovered: Array<{ kind: string; target: string; at: number; error: string }> = [];
  const instances = new Map<InstanceName, Instance>();
  /** Every broker and ClickHouse pid this run started: the pid files may vanish with their folder. */
  const daemonPids = new Set<number>();
  let stopping = false;

  // Daemons (the broker, ClickHouse) are detached: if this process dies hard, the pid files let the
  // next run stop them. Kill only pids whose command line names this run's folder.
  function killLeftovers(): void {
    for (const name of ["kafka", "clickhouse"]) {
      const pid = readPid(join(dir, "run", `${name}.pid`));
      if (!isAlive(pid)) continue;
      const cmdline = existsSync(`/proc/${pid}/cmdline`) ? readFileSync(`/proc/${pid}/cmdline`, "utf8") : "";
      if (cmdline.includes(dir)) process.kill(pid, "SIGKILL");
    }
  }

  function daemonPid(component: StackComponent): number {
    const pid = component.pid();
    if (pid === undefined) throw new Error(`${component.name} is not running`);
    daemonPids.add(pid);
    return pid;
  }

  async function startDaemon(component: StackComponent): Promise<void> {
    await component.start();
    daemonPid(component);
  }

  /** Polls ClickHouse's running queries until an insert into the predictions table shows (or gives up). */
  async function waitForInsert(timeoutMs: number): Promise<boolean> {
    const sql = "SELECT count() FROM system.processes WHERE query LIKE 'INSERT INTO %predictions%'";
    const url = `${clickhouseUrl}/?query=${encodeURIComponent(sql)}`;
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const running = await fetch(url, { signal: AbortSignal.timeout(1000) })
        .then((r) => r.text())
        .catch(() => "0");
      if (Number(running.trim()) > 0) return true;
    }
    return false;
  }

  const memoryPeaks = new Map<string, number>();
  /** Per process name, CPU seconds of its earlier (exited) pids, and the last reading per live pid. */
  const cpuUsed = new Map<string, { before: number; pid: number; now: number }>();
  /** CPU seconds per process name when the services were ready: start-up is not part of a run. */
  const cpuAtReady = new Map<string, number>();
  function sampleMemory(): void {
    const sample = (name: string, pid: number | undefined) => {
      const mib = pid === undefined ? undefined : residentMiB(pid);
      if (mib !== undefined) memoryPeaks.set(name, Math.max(memoryPeaks.get(name) ?? 0, mib));
      const cpu = pid === undefined ? undefined : cpuSecondsOf(pid);
      if (pid === undefined || cpu === undefined) return;
      const used = cpuUsed.get(name);
      if (!used) cpuUsed.set(name, { before: 0, pid, now: cpu });
      else if (used.pid !== pid) cpuUsed.set(name, { before: used.before + used.now, pid, now: cpu });
      else used.now = cpu;
    };
    for (const i of instances.values()) sample(i.name, i.child?.pid);
    sample("kafka", kafka.pid());
    sample("clickhouse", clickhouse.pid());
  }
  let memoryTimer: NodeJS.Timeout | undefined;

  /** Each change of an instance's /readyz answer (ready or why not), from when the services were up. */
  const readiness: ReadinessChange[] = [];
  const lastReadiness = new Map<InstanceName, string>();
  let readinessTimer: NodeJS.Timeout | undefined;
  async function sampleReadiness(): Promise<void> {
    await Promise.all(
      [...instances.values()].map(async (i) => {
        if (!i.child || i.child.exitCode !== null || i.child.signalCode !== null || i.expectingExit) return;
        const answer = await fetch(`http://127.0.0.1:${i.port}/readyz`, { signal: AbortSignal.timeout(900) })
          .then(async (r) =>
            r.ok ? "ready" : (((await r.json()) as { reason?: string }).reason ?? `HTTP ${r.status}`),
          )
          .catch(() => "no answer");
        // A reason that only counts on ("for 21 s", "for 22 s") is the same state.
        const state = answer.replace(/\d+/g, "#");
        if (lastReadiness.get(i.name) === state) return;
        lastReadiness.set(i.name, state);
        readiness.push({ instance: i.name, at: since(), ready: answer === "ready", reason: answer });
      }),
    );
  }

  async function killDaemon(component: StackComponent, signal: NodeJS.Signals): Promise<void> {
    const pid = daemonPid(component);
    process.kill(pid, signal);
    await waitUntil(`${component.name} to exit`, () => (isAlive(pid) ? undefined : true), 60_000, 100);
  }

  function spawnInstance(instance: Instance): void {
    const logFile = openSync(join(dir, "logs", `${instance.name}.log`), "a");
    const script = join(projectRoot, "services", instance.service, "main.ts");
    const child = spawn(process.execPath, [...serviceNodeFlags(instance.service), script], {
      env: {
        ...processEnvironment(),
        PIPELINES: `${options.pipeline}=payments`,
        KAFKA_BROKERS: brokers,
        KAFKA_CLIENT_ID: `chaos-${instance.name}`,
        SCHEMA_REGISTRY_URL: registryUrl,
        CLICKHOUSE_URL: clickhouseUrl,
        CLICKHOUSE_USER: "default",
        CLICKHOUSE_PASSWORD: "",
        CLICKHOUSE_DATABASE: "streamscore",
        PERSONAL_DATA_KEY: personalDataKey,
        LOG_LEVEL: "warn",
        MONITOR_MAX_BACKOFF_MS: "1000",
        INGEST_SEND_TIMEOUT_MS: "5000",
        INFERENCE_MODEL_POLL_SECONDS: "3600",
        CHAOS_ABORT_SHARE: String(options.abortShare),
        ...(options.modelsRoot ? { MODELS_ROOT: options.modelsRoot } : {}),
        [portSetting[instance.service]]: String(instance.port),
      },
      stdio: ["ignore", logFile, logFile],
    });
    instance.child = child;
    instance.expectingExit = false;
    child.once("exit", (code, signal) => {
      if (instance.child !== child || instance.expectingExit || stopping) return;
      crashes.push({ instance: instance.name, at: since(), code, signal });
      log(`[chaos] ${instance.name} exited by itself (code ${code}, signal ${signal}); restarting it`);
      spawnInstance(instance);
    });
  }

  async function waitReady(instance: Instance, timeoutMs = 120_000): Promise<void> {
    await waitUntil(
      `${instance.name} to be ready`,
      async () => ((await httpOk(`http://127.0.0.1:${instance.port}/readyz`, 1000)) ? true : undefined),
      timeoutMs,
      200,
    );
  }

  async function signalInstance(instance: Instance, signal: NodeJS.Signals): Promise<void> {
    const child = instance.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    instance.expectingExit = true;
    const exited = new Promise((resolve) => child.once("exit", resolve));
    child.kill(signal);
    await exited;
  }

  async function restart(instance: Instance, signal: NodeJS.Signals): Promise<void> {
    await signalInstance(instance, signal);
    spawnInstance(instance);
    await waitReady(instance);
  }

  function instance(name: InstanceName | undefined): Instance {
    const found = name && instances.get(name);
    if (!found) throw new Error(`no instance ${name}`);
    return found;
  }

  async function inject(fault: ScheduledFault): Promise<void> {
    const at = since();
    const target = faultTarget(fault);
    log(`[chaos] ${(at / 1000).toFixed(1)}s ${fault.kind} ${target}`);
    let note: string | undefined;
    try {
      note = await applyFault(fault);
    } catch (error) {
      // A service that does not come back fails the run, with its report, instead of ending the harness.
      note = `NOT recovered: ${describeError(error)}`;
      unrecovered.push({ kind: fault.kind, target, at, error: describeError(error) });
    }
    faults.push({ kind: fault.kind, target, at, recoveredAt: since(), ...(note ? { note } : {}) });
    log(`[chaos] ${(since() / 1000).toFixed(1)}s ${target} back${note ? ` (${note})` : ""}`);
  }

  /** Injects one fault and waits until its target is back; returns what happened beyond the plan, if anything. */
  async function applyFault(fault: ScheduledFault): Promise<string | undefined> {
    let note: string | undefined;
    switch (fault.kind) {
      case "kill":
        await restart(instance(fault.target), "SIGKILL");
        break;
      case "term":
        await restart(instance(fault.target), "SIGTERM");
        break;
      case "pause": {
        const child = instance(fault.target).child;
        child?.kill("SIGSTOP");
        await sleep(fault.pauseMs ?? 45_000);
        child?.kill("SIGCONT");
        break;
      }
      case "broker-hard":
      case "broker-clean":
        await killDaemon(kafka, fault.kind === "broker-hard" ? "SIGKILL" : "SIGTERM");
        if (fault.downMs) {
          // Started while the broker is away, these must wait for it rather than exit.
          const restarted = fault.restartWhileDown ?? [];
          await sleep(Math.min(5000, fault.downMs));
          for (const name of restarted) {
            await signalInstance(instance(name), "SIGKILL");
            spawnInstance(instance(name));
          }
          await sleep(fault.downMs - Math.min(5000, fault.downMs));
          note = `down for ${fault.downMs / 1000} s${restarted.length > 0 ? `; ${restarted.join(", ")} killed and started again meanwhile` : ""}`;
          await startDaemon(kafka);
          for (const name of restarted) await waitReady(instance(name));
          break;
        }
        await startDaemon(kafka);
        break;
      case "broker-pause": {
        const pid = daemonPid(kafka);
        process.kill(pid, "SIGSTOP");
        await sleep(fault.pauseMs ?? 10_000);
        process.kill(pid, "SIGCONT");
        break;
      }
      case "clickhouse-kill":
        await killDaemon(clickhouse, "SIGKILL");
        await startDaemon(clickhouse);
        break;
      case "clickhouse-kill-mid-insert": {
        const caught = await waitForInsert(30_000);
        await killDaemon(clickhouse, "SIGKILL");
        note = caught ? "killed while an insert was running" : "no insert seen within 30 s; killed anyway";
        await startDaemon(clickhouse);
        break;
      }
      case "clickhouse-pause": {
        const pid = daemonPid(clickhouse);
        process.kill(pid, "SIGSTOP");
        await sleep(fault.pauseMs ?? 120_000);
        process.kill(pid, "SIGCONT");
        break;
      }
      case "model-change":
        if (!options.changeModel) throw new Error("a model-change fault in a run that changes no models");
        note = await options.changeModel();
        break;
      case "toggle": {
        const spare = instance(fault.target);
        if (spare.child && spare.child.exitCode === null && spare.child.signalCode === null) {
          await signalInstance(spare, "SIGTERM");
        } else {
          spawnInstance(spare);
          await waitReady(spare);
        }
        break;
      }
    }
    return note;
  }

  /** Last resort when the run dies: SIGKILL everything this run started, synchronously. */
  function killAllNow(): void {
    stopping = true;
    clearInterval(memoryTimer);
    clearInterval(readinessTimer);
    for (const i of instances.values()) {
      if (i.child?.exitCode === null && i.child.signalCode === null) i.child.kill("SIGKILL");
    }
    for (const pid of daemonPids) {
      if (isAlive(pid)) process.kill(pid, "SIGKILL");
    }
  }
  const onExit = () => killAllNow();
  const onSignal = (signal: NodeJS.Signals) => {
    killAllNow();
    process.exit(signal === "SIGINT" ? 130 : 143);
  };

  return {
    brokers,
    clickhouseUrl,
    registryUrl,
    faults,
    crashes,
    unrecovered,
    readiness,
    since,
    producerUrl: () => `http://127.0.0.1:${instances.get("producer")?.port ?? 1}`,
    /** Base URL of an instance's HTTP API (its port stays the same over restarts). */
    instanceUrl: (name: InstanceName) => `http://127.0.0.1:${instance(name).port}`,

    /** Peak resident memory per process so far, each against its service's cap. */
    memoryPeaks(): MemoryPeak[] {
      return [...memoryPeaks].map(([name, peak]) => ({
        process: name,
        peakMiB: Math.round(peak),
        capMiB: memoryCapsMiB[name.replace(/-\d$/, "")] ?? Number.POSITIVE_INFINITY,
      }));
    },

    /** CPU seconds each process used since the services were ready (sampled every second, over restarts). */
    cpuSeconds(): Array<{ process: string; seconds: number }> {
      return [...cpuUsed].map(([name, used]) => ({
        process: name,
        seconds: Math.round(used.before + used.now - (cpuAtReady.get(name) ?? 0)),
      }));
    },

    async start(): Promise<void> {
      killLeftovers();
      rmSync(join(dir, "data"), { recursive: true, force: true });
      mkdirSync(join(dir, "logs"), { recursive: true });
      linkSharedInstalls(stackConfig);
      process.once("exit", onExit);
      process.once("SIGINT", onSignal);
      process.once("SIGTERM", onSignal);
      log(
        `[chaos] starting own Kafka on ${brokers}, ClickHouse on ${clickhouseUrl}${ownRegistry ? `, registry on ${registryUrl}` : ""} (logs: ${dir}/logs)`,
      );
      await Promise.all([startDaemon(kafka), startDaemon(clickhouse), ownRegistry && startDaemon(ownRegistry)]);
      // The monitor never migrates (it runs without DDL rights): the run does, as an administrator would.
      const admin = createClickHouse({
        CLICKHOUSE_URL: clickhouseUrl,
        CLICKHOUSE_USER: "default",
        CLICKHOUSE_PASSWORD: "",
      });
      try {
        await migrate(admin, "streamscore");
      } finally {
        await admin.close();
      }
      if (options.partitions !== undefined) {
        const definition = { ...getPipeline(`${options.pipeline}=payments`), partitions: options.partitions };
        const admin = createKafka(
          loadConnectionConfig({ KAFKA_BROKERS: brokers }),
          createLogger({ name: "chaos", level: "error" }),
          "chaos-setup",
        ).admin();
        await admin.connect();
        try {
          await ensureTopics(admin, pipelineTopicSpecs(definition));
        } finally {
          await admin.disconnect();
        }
      }
      for (const name of [...instanceNames, ...spareInstances]) {
        const service = name.replace(/-\d$/, "") as Instance["service"];
        instances.set(name, { name, service, port: await freePort(), child: undefined, expectingExit: false });
      }
      // The producer first: it creates the topics, so the consumers join groups on existing topics.
      const producer = instance("producer");
      spawnInstance(producer);
      await waitReady(producer);
      // The spare instances wait for a "toggle" fault.
      const rest = instanceNames.filter((n) => n !== "producer").map((n) => instance(n));
      for (const i of rest) spawnInstance(i);
      await Promise.all(rest.map((i) => waitReady(i)));
      log(`[chaos] services ready after ${(since() / 1000).toFixed(1)}s`);
      sampleMemory();
      for (const [name, used] of cpuUsed) cpuAtReady.set(name, used.before + used.now);
      memoryTimer = setInterval(sampleMemory, 1000);
      memoryTimer.unref();
      readinessTimer = setInterval(() => void sampleReadiness(), 1000);
      readinessTimer.unref();
    },

    inject,

    /** Stops the services, then the broker and ClickHouse (hard: their data is thrown away). */
    async stop(): Promise<void> {
      stopping = true;
      await Promise.all([...instances.values()].map((i) => signalInstance(i, "SIGKILL")));
      killAllNow();
      for (const pid of daemonPids) {
        await waitUntil("the broker and ClickHouse to exit", () => (isAlive(pid) ? undefined : true), 30_000, 100);
      }
      process.off("exit", onExit);
      process.off("SIGINT", onSignal);
      process.off("SIGTERM", onSignal);
      rmSync(join(dir, "data"), { recursive: true, force: true });
    },
  };
}

export type ChaosCluster = Awaited<ReturnType<typeof createChaosCluster>>;
