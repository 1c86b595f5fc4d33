// One chaos run: start the cluster, send the ledger while the seeded faults hit, wait for the
// pipeline to drain, read every hop and check it. Bounded: each wait has a limit, and the cluster is
// torn down whatever happens.
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { createClickHouse } from "../../services/monitor/clickhouse.ts";
import { loadConnectionConfig } from "../../services/shared/connection-settings.ts";
import { createKafka } from "../../services/shared/kafka/client.ts";
import { createLogger } from "../../services/shared/logger.ts";
import { pipelineTopics } from "../../services/shared/pipeline/definition.ts";
import { type CheckReport, check, formatReport } from "./checker.ts";
import { createChaosCluster, type FaultRecord } from "./cluster.ts";
import { runLedger } from "./ledger.ts";
import { groupLag, observe, storedIds } from "./observe.ts";
import { type Scenario, scheduleFaults } from "./schedule.ts";

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
  /** Seconds from the later of the last fault's recovery and the last send until ClickHouse held every event. */
  drainSeconds: number | undefined;
  drainTimeoutSeconds: number;
  /** Consumer-group lag after the drain, per group (on transactional topics it counts one commit marker per partition). */
  lagAfterDrain: Record<string, number>;
  sendSeconds: number;
  /** Requests by answer (HTTP status, timeout, error), each retry counted: 2xx only with a Kafka acknowledgement. */
  answers: Record<string, number>;
  totalSeconds: number;
}

export async function runChaos(options: RunOptions): Promise<RunResult> {
  const { scenario, seed } = options;
  const log = options.log ?? (() => undefined);
  const events = options.events ?? scenario.events;
  const pipeline = `chaos-${scenario.name}-${seed}-${Date.now().toString(36)}`;
  const startedAt = Date.now();
  const cluster = await createChaosCluster({
    dir: options.dir,
    pipeline,
    registryUrl: options.registryUrl,
    abortShare: scenario.abortShare ?? 0,
    partitions: scenario.partitions,
    log,
  });
  const logger = createLogger({ name: "chaos", level: "error" });
  try {
    await cluster.start();
    const connection = loadConnectionConfig({ KAFKA_BROKERS: cluster.brokers, LOG_LEVEL: "error" });
    const kafka = createKafka(connection, logger, "chaos-checker");
    const clickhouse = createClickHouse({
      CLICKHOUSE_URL: cluster.clickhouseUrl,
      CLICKHOUSE_USER: "default",
      CLICKHOUSE_PASSWORD: "",
    });
    try {
      const sendMs = (events / scenario.ratePerSecond) * 1000;
      const schedule = scheduleFaults(scenario.faults, seed, sendMs, 3000);
      const sendStart = Date.now();
      log(
        `[chaos] ${scenario.name}, seed ${seed}: ${events} events at ${scenario.ratePerSecond}/s, ${schedule.length} faults`,
      );
      const sending = runLedger({
        baseUrl: cluster.producerUrl,
        pipeline,
        events,
        seed,
        keys: Math.max(20, Math.round(events / 200)),
        ratePerSecond: scenario.ratePerSecond,
        badShare: 0.01,
        lanes: 4,
        batchSize: 50,
        requestTimeoutMs: 10_000,
        retryForMs: 300_000,
        idPrefix: pipeline,
      });
      // Each fault starts on time; only faults of the same target wait for one another, so a slow
      // recovery (a rebalance waits out the session timeout) does not push the others past the send.
      const chains = new Map<string, Promise<void>>();
      const faulting = (async () => {
        for (const fault of schedule) {
          const due = sendStart + fault.atMs;
          if (due > Date.now()) await sleep(due - Date.now());
          const chain = fault.target ?? (fault.kind.startsWith("broker") ? "broker" : "clickhouse");
          chains.set(
            chain,
            (chains.get(chain) ?? Promise.resolve()).then(() => cluster.inject(fault)),
          );
        }
        await Promise.all(chains.values());
      })();
      const [{ ledger, finishedAt }] = await Promise.all([sending, faulting]);
      const sendSeconds = (finishedAt - sendStart) / 1000;
      // Attempts are shared by the events of one request: count each request once.
      const answers: Record<string, number> = {};
      for (const attempt of new Set(ledger.flatMap((e) => e.attempts))) {
        answers[String(attempt.outcome)] = (answers[String(attempt.outcome)] ?? 0) + 1;
      }
      const lastFault = Math.max(0, ...cluster.faults.map((f) => f.recoveredAt)) + (Date.now() - cluster.since());
      const quietFrom = Math.max(finishedAt, lastFault);
      const expected = ledger.filter((e) => e.status === "accepted" && !e.bad).length;
      log(`[chaos] sent in ${sendSeconds.toFixed(1)}s; waiting for ${expected} events in ClickHouse`);
      const drainTimeoutMs = options.drainTimeoutMs ?? 120_000;
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
      await sleep(options.settleMs ?? 15_000);
      const topics = pipelineTopics(pipeline);
      const lagAfterDrain = await groupLag(kafka, {
        [`streamscore-transformer-${pipeline}`]: topics.raw,
        [`streamscore-inference-${pipeline}`]: topics.features,
        [`streamscore-monitor-${pipeline}-predictions`]: topics.scored,
      }).catch(() => ({}));
      log("[chaos] reading every hop");
      const observation = await observe(kafka, clickhouse, pipeline);
      const report = check(ledger, observation);
      // Events no answer ever came for mean the API stayed unavailable for minutes: a failure too.
      if (drainSeconds === undefined || report.sent.unknown > 0) report.ok = false;
      return {
        scenario: scenario.name,
        seed,
        events,
        pipeline,
        report,
        faults: cluster.faults,
        crashes: cluster.crashes,
        drainSeconds,
        drainTimeoutSeconds: drainTimeoutMs / 1000,
        lagAfterDrain,
        sendSeconds,
        answers,
        totalSeconds: (Date.now() - startedAt) / 1000,
      };
    } finally {
      await clickhouse.close();
    }
  } finally {
    await cluster.stop();
  }
}

/** A folder for one run's broker and ClickHouse: under the stack folder, beside (never inside) the shared stack's data. */
export function chaosDir(stackDir: string, run: string): string {
  return join(stackDir, "chaos", run);
}

export function formatRun(result: RunResult): string {
  const faults = result.faults.map(
    (f) =>
      `  ${(f.at / 1000).toFixed(1)}s ${f.kind} ${f.target} (back after ${((f.recoveredAt - f.at) / 1000).toFixed(1)}s)`,
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
    `requests by answer: ${Object.entries(result.answers)
      .map(([answer, n]) => `${answer} ${n}`)
      .join(", ")}`,
    `faults (${result.faults.length}):`,
    ...faults,
    `unplanned exits (restarted): ${result.crashes.length}`,
    ...crashes,
    formatReport(result.report),
  ].join("\n");
}
