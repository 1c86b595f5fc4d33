// One chaos run: start the cluster, send the ledger while the seeded faults hit, wait for the
// pipeline to drain, read every hop and check it. Bounded: each wait has a limit, and the cluster is
// torn down whatever happens.
import { rmSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { createClickHouse } from "../../services/shared/clickhouse/client.ts";
import { loadConnectionConfig } from "../../services/shared/connection-settings.ts";
import { createKafka } from "../../services/shared/kafka/client.ts";
import { createLogger } from "../../services/shared/logger.ts";
import { pipelineTopics } from "../../services/shared/pipeline/definition.ts";
import { type CheckReport, check, formatReport, type LedgerEntry } from "./checker.ts";
import {
  type ChaosCluster,
  createChaosCluster,
  type FaultRecord,
  type MemoryPeak,
  type ReadinessChange,
} from "./cluster.ts";
import { type LedgerOptions, runLedger } from "./ledger.ts";
import { createModelChanger, type ModelChanger, modelVersions, prepareModelRoot, waitForServing } from "./models.ts";
import { groupLag, observe, storedIds } from "./observe.ts";
import { faultTarget, type Scenario, scheduleFaults, scheduleModelChanges } from "./schedule.ts";

export interface RunOptions {
  scenario: Scenario;
  seed: number;
  /** Overrides the scenario's event count (smaller runs of the matrix). */
  events?: number;
  /** A schema registry to reuse; unset: the run starts its own. */
  registryUrl?: string;
  /** Folder of the run's own broker and ClickHouse. */
  dir: string;
  /** How long the pipeline may take to drain after the last fault and the last send. */
  drainTimeoutMs?: number;
  /** Quiet time after the drain before reading, so a late write (a zombie waking up) still shows. */
  settleMs?: number;
  log?: (line: string) => void;
}

export interface RunResult {
  scenario: string;
  seed: number;
  events: number;
  pipeline: string;
  report: CheckReport;
  faults: FaultRecord[];
  crashes: Array<{ instance: string; at: number; code: number | null; signal: string | null }>;
  /** Faults whose target did not come back within the harness's wait. */
  unrecovered: Array<{ kind: string; target: string; at: number; error: string }>;
  /** Every change of an instance's readiness while the run went on. */
  readiness: ReadinessChange[];
  /** Seconds from the later of the last fault's recovery and the last send until ClickHouse held every event. */
  drainSeconds: number | undefined;
  drainTimeoutSeconds: number;
  /** Consumer-group lag after the drain, per group (on transactional topics it counts one commit marker per partition). */
  lagAfterDrain: Record<string, number>;
  sendSeconds: number;
  /** Requests by answer (HTTP status, timeout, error), each retry counted: 2xx only with a Kafka acknowledgement. */
  answers: Record<string, number>;
  /** Events/s the cluster stored end to end while offered more (load scenarios only), and the rate then offered. */
  capacity?: { measuredPerSecond: number; offeredPerSecond: number };
  /**
   * What the send achieved, per second of it: events in requests (retries included) and events
   * accepted. Under overload the first is the load the API really saw.
   */
  throughput: { attemptedPerSecond: number; acceptedPerSecond: number };
  /** Peak resident memory of every process, each against its cap. */
  memory: MemoryPeak[];
  /** CPU seconds per process (and this harness) from the services' start to the end of the drain. */
  cpu: { wallSeconds: number; processes: Array<{ process: string; seconds: number }> };
  totalSeconds: number;
}

/** Offered while measuring capacity: well above what two cores can carry through the whole pipeline. */
const calibrationRate = 20_000;

/**
 * Sends well above capacity for `seconds` and returns the rate at which ClickHouse stored events
 * over the last two thirds (the first third warms the pipeline up). Its events join the run's ledger.
 */
async function measureCapacity(
  ledgerOptions: Omit<LedgerOptions, "events" | "ratePerSecond" | "idPrefix" | "keys">,
  seconds: number,
  stored: () => Promise<number>,
) {
  const stop = new AbortController();
  const sending = runLedger({
    ...ledgerOptions,
    seed: ledgerOptions.seed + 1_000_000,
    events: calibrationRate * seconds,
    keys: (calibrationRate * seconds) / 200,
    ratePerSecond: calibrationRate,
    idPrefix: `${ledgerOptions.pipeline}-calibration`,
    signal: stop.signal,
  });
  await sleep((seconds * 1000) / 3);
  const from = { at: Date.now(), stored: await stored() };
  await sleep((seconds * 2000) / 3);
  const perSecond = ((await stored()) - from.stored) / ((Date.now() - from.at) / 1000);
  stop.abort();
  const { ledger } = await sending;
  return { perSecond, ledger };
}

/**
 * Events per second in requests sent within [from, to) (retries included), and accepted by a request
 * answered within it: the load the API saw and what it took, without the retries that finish after.
 */
function measureThroughput(ledger: readonly LedgerEntry[], from: number, to: number) {
  let attempted = 0;
  let accepted = 0;
  for (const entry of ledger) {
    for (const attempt of entry.attempts) if (attempt.sentAt >= from && attempt.sentAt < to) attempted += 1;
    const last = entry.attempts[entry.attempts.length - 1];
    if (entry.status === "accepted" && last && last.answeredAt >= from && last.answeredAt < to) accepted += 1;
  }
  const seconds = Math.max(0.001, (to - from) / 1000);
  return { attemptedPerSecond: Math.round(attempted / seconds), acceptedPerSecond: Math.round(accepted / seconds) };
}

function startFaults(cluster: ChaosCluster, schedule: ReturnType<typeof scheduleFaults>, sendStart: number) {
  // Each fault starts on time; only faults of the same target wait for one another, so a slow
  // recovery (a rebalance waits out the session timeout) does not push the others past the send.
  const chains = new Map<string, Promise<void>>();
  return (async () => {
    for (const fault of schedule) {
      const due = sendStart + fault.atMs;
      if (due > Date.now()) await sleep(due - Date.now());
      const chain = faultTarget(fault);
      chains.set(
        chain,
        (chains.get(chain) ?? Promise.resolve()).then(() => cluster.inject(fault)),
      );
    }
    await Promise.all(chains.values());
  })();
}

export async function runChaos(options: RunOptions): Promise<RunResult> {
  const { scenario, seed } = options;
  const log = options.log ?? (() => undefined);
  const events = options.events ?? scenario.events;
  const pipeline = `chaos-${scenario.name}-${seed}-${Date.now().toString(36)}`;
  const startedAt = Date.now();
  const plan = scenario.models;
  const modelChanges = scenario.faults.filter((f) => f.kind === "model-change").reduce((n, f) => n + f.count, 0);
  const versions = plan ? modelVersions(plan, modelChanges) : undefined;
  const modelsRoot = versions ? join(options.dir, "models") : undefined;
  if (modelsRoot && versions) prepareModelRoot(modelsRoot, versions.onDisk);
  // Made once the run's Kafka client exists; the faults that use it start after that.
  let changer: ModelChanger | undefined;
  const cluster = await createChaosCluster({
    dir: options.dir,
    pipeline,
    registryUrl: options.registryUrl,
    abortShare: scenario.abortShare ?? 0,
    partitions: scenario.partitions,
    modelsRoot,
    changeModel: async () => {
      if (!changer) throw new Error("model changes before the registry was set up");
      return changer.change();
    },
    log,
  });
  const logger = createLogger({ name: "chaos", level: "error" });
  try {
    await cluster.start();
    const harnessCpu = process.cpuUsage();
    const servicesUpAt = Date.now();
    const connection = loadConnectionConfig({ KAFKA_BROKERS: cluster.brokers, LOG_LEVEL: "error" });
    const kafka = createKafka(connection, logger, "chaos-checker");
    const clickhouse = createClickHouse({
      CLICKHOUSE_URL: cluster.clickhouseUrl,
      CLICKHOUSE_USER: "default",
      CLICKHOUSE_PASSWORD: "",
    });
    try {
      if (plan && versions) {
        changer = createModelChanger(kafka, pipeline, plan, logger);
        await changer.setUp(versions.registered);
        await waitForServing(
          [cluster.instanceUrl("inference-1"), cluster.instanceUrl("inference-2")],
          pipeline,
          plan,
          60_000,
        );
        log(
          `[chaos] registry: versions ${versions.registered.join(", ")} registered, champion ${plan.champion}, shadow ${plan.shadow}; served by both inference instances`,
        );
      }
      const ledgerOptions = {
        baseUrl: cluster.producerUrl,
        pipeline,
        seed,
        keys: Math.max(20, Math.round(events / 200)),
        badShare: 0.01,
        lanes: scenario.lanes ?? 4,
        batchSize: 50,
        requestTimeoutMs: 10_000,
        retryForMs: 300_000,
      };
      let capacity: RunResult["capacity"];
      let calibrationLedger: Awaited<ReturnType<typeof runLedger>>["ledger"] = [];
      let rate = scenario.ratePerSecond;
      let count = events;
      if (scenario.load) {
        log(`[chaos] measuring capacity: ${calibrationRate}/s offered for ${scenario.load.calibrateSeconds}s`);
        const measured = await measureCapacity(ledgerOptions, scenario.load.calibrateSeconds, () =>
          storedIds(clickhouse, pipeline).catch(() => 0),
        );
        calibrationLedger = measured.ledger;
        rate = Math.max(1, Math.round(measured.perSecond * scenario.load.factor));
        count = options.events ?? rate * scenario.load.sendSeconds;
        capacity = { measuredPerSecond: Math.round(measured.perSecond), offeredPerSecond: rate };
        log(`[chaos] capacity ${capacity.measuredPerSecond}/s; offering ${rate}/s`);
      }
      const sendMs = (count / rate) * 1000;
      const schedule = scenario.models
        ? scheduleModelChanges(scenario.faults, seed, sendMs)
        : scheduleFaults(scenario.faults, seed, sendMs, 3000);
      const sendStart = Date.now();
      log(`[chaos] ${scenario.name}, seed ${seed}: ${count} events at ${rate}/s, ${schedule.length} faults`);
      // A load scenario sends for its time, whatever the API accepts meanwhile: overload is a time
      // at a rate offered, not a number of events (refusals would stretch it).
      const sendForMs = scenario.load ? scenario.load.sendSeconds * 1000 : undefined;
      const sending = runLedger({
        ...ledgerOptions,
        keys: Math.max(20, Math.round(count / 200)),
        events: count,
        ratePerSecond: rate,
        idPrefix: pipeline,
        sendForMs,
      });
      const faulting = startFaults(cluster, schedule, sendStart);
      const [{ ledger: sent, startedAt: sendingFrom, finishedAt }] = await Promise.all([sending, faulting]);
      const ledger = [...calibrationLedger, ...sent];
      const sendSeconds = (finishedAt - sendStart) / 1000;
      const throughput = measureThroughput(sent, sendingFrom, sendForMs ? sendingFrom + sendForMs : finishedAt);
      // Attempts are shared by the events of one request: count each request once.
      const answers: Record<string, number> = {};
      for (const attempt of new Set(ledger.flatMap((e) => e.attempts))) {
        answers[String(attempt.outcome)] = (answers[String(attempt.outcome)] ?? 0) + 1;
      }
      const lastFault = Math.max(0, ...cluster.faults.map((f) => f.recoveredAt)) + (Date.now() - cluster.since());
      const quietFrom = Math.max(finishedAt, lastFault);
      const expected = ledger.filter((e) => e.status === "accepted" && !e.bad).length;
      log(`[chaos] sent in ${sendSeconds.toFixed(1)}s; waiting for ${expected} events in ClickHouse`);
      const drainTimeoutMs = options.drainTimeoutMs ?? scenario.drainTimeoutMs ?? 120_000;
      let drainSeconds: number | undefined;
      const deadline = quietFrom + drainTimeoutMs;
      while (Date.now() < deadline) {
        const stored = await storedIds(clickhouse, pipeline).catch(() => 0);
        if (stored >= expected) {
          drainSeconds = Math.max(0, (Date.now() - quietFrom) / 1000);
          break;
        }
        await sleep(500);
      }
      log(`[chaos] drained: ${drainSeconds === undefined ? "NO (timed out)" : `${drainSeconds.toFixed(1)}s`}`);
      const harnessUsed = process.cpuUsage(harnessCpu);
      const cpu = {
        wallSeconds: Math.round((Date.now() - servicesUpAt) / 1000),
        processes: [
          ...cluster.cpuSeconds(),
          { process: "harness", seconds: Math.round((harnessUsed.user + harnessUsed.system) / 1e6) },
        ],
      };
      await sleep(options.settleMs ?? 15_000);
      const topics = pipelineTopics(pipeline);
      const lagAfterDrain = await groupLag(kafka, {
        [`streamscore-transformer-${pipeline}`]: topics.raw,
        [`streamscore-inference-${pipeline}`]: topics.features,
        [`streamscore-monitor-${pipeline}-predictions`]: topics.scored,
      }).catch(() => ({}));
      log("[chaos] reading every hop");
      const observation = await observe(kafka, clickhouse, pipeline, { models: changer !== undefined });
      const report = check(ledger, observation, changer?.expectation());
      const memory = cluster.memoryPeaks();
      // Events no answer ever came for mean the API stayed unavailable for minutes: a failure too.
      if (drainSeconds === undefined || report.sent.unknown > 0) report.ok = false;
      if (memory.some((m) => m.peakMiB > m.capMiB)) report.ok = false;
      // A service that exits by itself needs a supervisor to go on; none is allowed one.
      if (cluster.crashes.length > 0) report.ok = false;
      if (cluster.unrecovered.length > 0) report.ok = false;
      return {
        scenario: scenario.name,
        seed,
        events: ledger.length,
        pipeline,
        report,
        faults: cluster.faults,
        crashes: cluster.crashes,
        unrecovered: cluster.unrecovered,
        readiness: cluster.readiness,
        drainSeconds,
        drainTimeoutSeconds: drainTimeoutMs / 1000,
        lagAfterDrain,
        sendSeconds,
        answers,
        capacity,
        throughput,
        memory,
        cpu,
        totalSeconds: (Date.now() - startedAt) / 1000,
      };
    } finally {
      await clickhouse.close();
    }
  } finally {
    await cluster.stop();
    // The model copies are the run's input, not evidence: the logs stay, like the cluster's.
    if (modelsRoot) rmSync(modelsRoot, { recursive: true, force: true });
  }
}

/** A folder for one run's broker and ClickHouse: under the stack folder, beside (never inside) the shared stack's data. */
export function chaosDir(stackDir: string, run: string): string {
  return join(stackDir, "chaos", run);
}

/** The reasons an instance gave for not being ready at some time within [from, to] ms of the run. */
export function notReadyWithin(result: RunResult, instance: string, from: number, to: number): string[] {
  const changes = result.readiness.filter((c) => c.instance === instance);
  const reasons: string[] = [];
  changes.forEach((change, i) => {
    const until = changes[i + 1]?.at ?? Number.POSITIVE_INFINITY;
    if (!change.ready && change.at <= to && until >= from) reasons.push(change.reason);
  });
  return reasons;
}

/** Per instance: how often it went not ready, and the first reason it gave. */
function formatReadiness(result: RunResult): string[] {
  const byInstance = new Map<string, ReadinessChange[]>();
  for (const change of result.readiness) {
    if (!change.ready) byInstance.set(change.instance, [...(byInstance.get(change.instance) ?? []), change]);
  }
  return [...byInstance].map(
    ([instance, changes]) =>
      `  ${instance}: ${changes.length}× (first at ${((changes[0]?.at ?? 0) / 1000).toFixed(1)}s: ${changes[0]?.reason})`,
  );
}

export function formatRun(result: RunResult): string {
  const faults = result.faults.map(
    (f) =>
      `  ${(f.at / 1000).toFixed(1)}s ${f.kind} ${f.target} (back after ${((f.recoveredAt - f.at) / 1000).toFixed(1)}s${f.note ? `; ${f.note}` : ""})`,
  );
  const crashes = result.crashes.map(
    (c) => `  ${(c.at / 1000).toFixed(1)}s ${c.instance} exited (code ${c.code}, signal ${c.signal})`,
  );
  return [
    `chaos ${result.scenario} — seed ${result.seed}, ${result.events} events, pipeline ${result.pipeline}`,
    `send ${result.sendSeconds.toFixed(1)}s, total ${result.totalSeconds.toFixed(1)}s; drained ${
      result.drainSeconds === undefined
        ? `NOT within ${result.drainTimeoutSeconds}s`
        : `${result.drainSeconds.toFixed(1)}s after the last fault or send`
    }`,
    `lag after drain: ${
      Object.entries(result.lagAfterDrain)
        .map(([group, lag]) => `${group.replace(`-${result.pipeline}`, "")} ${lag}`)
        .join(", ") || "unknown"
    }`,
    ...(result.capacity
      ? [`capacity measured ${result.capacity.measuredPerSecond}/s; offered ${result.capacity.offeredPerSecond}/s`]
      : []),
    `events in requests ${result.throughput.attemptedPerSecond}/s (retries included), accepted ${result.throughput.acceptedPerSecond}/s${
      result.capacity
        ? ` (${(result.throughput.attemptedPerSecond / result.capacity.measuredPerSecond).toFixed(1)}× and ${(result.throughput.acceptedPerSecond / result.capacity.measuredPerSecond).toFixed(1)}× capacity)`
        : ""
    }`,
    `peak memory (MiB, cap): ${result.memory
      .map((m) => `${m.process} ${m.peakMiB}${m.peakMiB > m.capMiB ? ` OVER ${m.capMiB}` : ""}`)
      .join(", ")}`,
    `cpu seconds over ${result.cpu.wallSeconds} s of 2 cores: ${result.cpu.processes
      .map((p) => `${p.process} ${p.seconds}`)
      .join(", ")}`,
    `requests by answer: ${Object.entries(result.answers)
      .map(([answer, n]) => `${answer} ${n}`)
      .join(", ")}`,
    `faults (${result.faults.length}):`,
    ...faults,
    `not ready after start-up (${result.readiness.filter((c) => !c.ready).length} times):`,
    ...formatReadiness(result),
    `unplanned exits (restarted by the harness; any fails the run): ${result.crashes.length}`,
    ...crashes,
    `faults not recovered from (any fails the run): ${result.unrecovered.length}`,
    ...result.unrecovered.map((u) => `  ${(u.at / 1000).toFixed(1)}s ${u.kind} ${u.target}: ${u.error}`),
    formatReport(result.report),
  ].join("\n");
}
