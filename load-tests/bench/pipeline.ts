// The whole pipeline as the deployment runs it: each service its own child process with its own
// settings (processes.ts), for a bench-only pipeline alias, fed over HTTP by the load client in
// another child process. Throughput: N events sent as fast as the API takes
// them, timed from the first request until the last row is in ClickHouse. Latency: an open-loop
// fixed rate; ingest → scored from the stored records' ingest_time/score_time, ingest →
// ClickHouse from polling the table for new rows.
import { migrate } from "../../services/shared/clickhouse/migrations.ts";
import { type BenchEnvironment, createBenchPipeline, uniqueName, waitUntil } from "./environment.ts";
import { runLoadProcess } from "./load-process.ts";
import { type ServiceProcesses, startServiceProcesses } from "./processes.ts";
import { predictionCount } from "./progress.ts";
import { describeRefusals, type RefusedRun } from "./report.ts";
import { percentile, ratePerSecond, type Summary, summarize } from "./stats.ts";

export interface LatencySummary {
  p50: Summary;
  p99: Summary;
  p999: Summary;
  samples: number;
}

export interface PipelineResult {
  rate: Summary;
  cpuPerThousand: Summary;
  /** Events/s the latency figures were measured at: the planned rate, or the highest lower one the API fully accepted. */
  offeredRate: number;
  /** Events/s the latency runs were planned at (half the measured maximum unless set). */
  plannedRate: number;
  /** Each rate tried and given up because the API refused part of it, highest first. */
  refused: RefusedRun[];
  scored: LatencySummary;
  clickhouse: LatencySummary;
  /** Highest p99 of the services' event-loop delay (ms) during each latency run. */
  loopDelayP99: Summary;
  /** Latency at a fixed low load (`lowRate`), where a real-time user's p99 target is tighter. */
  low?: LowLoadLatency;
}

export interface LowLoadLatency {
  rate: number;
  scored?: LatencySummary;
  /** Set when the API refused part of the low load: no figures then. */
  refused?: RefusedRun;
}

export interface PipelineOptions {
  runs: number;
  events: number;
  connections: number;
  httpBatch: number;
  inferenceBatch: number;
  latencySeconds: number;
  latencyBatch: number;
  pollMs: number;
  cards: number;
  /** Events/s of the latency runs; half the measured maximum when undefined. */
  offeredRate?: number;
  /** Lower rates tried after the planned one is refused, each this share of the one before. */
  stepDown?: number;
  /** How many lower rates are tried before the latency is reported as not measured. */
  maxStepDowns?: number;
  /** Events/s of the low-load latency runs (after the half-load ones); 0 skips them. */
  lowRate?: number;
  log: (line: string) => void;
}

function latencySummary(runs: number[][]): LatencySummary {
  return {
    p50: summarize(runs.map((r) => percentile(r, 0.5))),
    p99: summarize(runs.map((r) => percentile(r, 0.99))),
    p999: summarize(runs.map((r) => percentile(r, 0.999))),
    samples: runs.reduce((n, r) => n + r.length, 0),
  };
}

export async function measurePipeline(env: BenchEnvironment, options: PipelineOptions): Promise<PipelineResult> {
  const pipeline = await createBenchPipeline(env);
  const name = pipeline.definition.name;
  // The services write where they always do (the writer may use no other database); the schema is
  // migrated first as the administrator, as `npm run db:migrate` does. The alias keeps this run's
  // rows apart.
  const database = env.config.CLICKHOUSE_DATABASE;
  await migrate(env.clickhouse, database);
  const table = `${database}.predictions`;
  let running: ServiceProcesses | undefined;
  try {
    running = await startServiceProcesses({
      pipeline: `${name}=payments`,
      alias: name,
      env: { INFERENCE_BATCH_SIZE: String(options.inferenceBatch) },
      timeoutMs: 120_000,
    });
    const services = running;
    let stored = 0;
    const prefix = uniqueName("pl").replace(/_/g, "");

    async function throughputRun(run: number, events: number) {
      const cpuAt = services.cpuSeconds();
      const load = runLoadProcess(
        {
          url: services.eventsUrl,
          mode: "count",
          connections: options.connections,
          batch: options.httpBatch,
          events,
          seed: 300 + run,
          idPrefix: `${prefix}t${run}`,
          cards: options.cards,
        },
        240_000,
      );
      const target = stored + events;
      await waitUntil(
        "every event in ClickHouse",
        async () => ((await predictionCount(env, database, name)) >= target ? true : undefined),
        180_000,
        50,
      );
      const finishedAt = Date.now();
      const cpu = services.cpuSeconds() - cpuAt;
      const result = await load;
      if (result.accepted !== events) throw new Error(`${result.accepted} of ${events} events accepted`);
      stored = target;
      return {
        rate: ratePerSecond(events, (finishedAt - result.startedAt) / 1000),
        cpu: cpu / (events / 1000),
      };
    }

    await throughputRun(0, Math.max(1000, Math.floor(options.events / 3)));
    const rates: number[] = [];
    const cpus: number[] = [];
    for (let run = 1; run <= options.runs; run += 1) {
      const r = await throughputRun(run, options.events);
      rates.push(r.rate);
      cpus.push(r.cpu);
      options.log(`  pipeline run ${run}: ${Math.round(r.rate)} events/s, ${r.cpu.toFixed(3)} CPU-s/1k`);
    }
    const rate = summarize(rates);
    const plannedRate = options.offeredRate ?? Math.max(1, Math.round(rate.median / 2));

    // Latency at half the measured maximum; events the API refuses would leave the slowest out.
    async function latencyRun(run: number, seconds: number, offeredRate: number) {
      const runPrefix = `${prefix}l${run}`;
      const offsets = new Map<number, bigint>();
      for (const row of await env.clickhouse.query<{ p: number; o: string }>(
        `SELECT source_partition AS p, toString(max(source_offset)) AS o FROM ${table} WHERE pipeline = '${name}' GROUP BY source_partition`,
      )) {
        offsets.set(Number(row.p), BigInt(row.o));
      }
      const visible: number[] = [];
      let accepted: number | undefined;
      const load = runLoadProcess(
        {
          url: services.eventsUrl,
          mode: "rate",
          connections: options.connections,
          batch: options.latencyBatch,
          rate: offeredRate,
          seconds,
          seed: 400 + run,
          idPrefix: runPrefix,
          cards: options.cards,
        },
        seconds * 1000 + 120_000,
      ).then((result) => {
        accepted = result.accepted;
        return result;
      });
      const expected = Math.round(offeredRate * seconds);
      let seen = 0;
      const deadline = Date.now() + seconds * 1000 + 120_000;
      // Each poll asks for rows past the highest offset seen per partition; a row's visibility time
      // is the moment the poll that first returned it was sent (an upper bound, ±pollMs). Once the
      // load is done, only what the API accepted is waited for.
      while (seen < (accepted ?? expected) && Date.now() < deadline) {
        const sentAt = Date.now();
        const partitions = [...offsets].map(([p, o]) => `(source_partition = ${p} AND source_offset > ${o})`);
        const known = [...offsets.keys()];
        const fresh = known.length > 0 ? `source_partition NOT IN (${known.join(",")})` : "1";
        const rows = await env.clickhouse.query<{ p: number; o: string; t: string; id: string }>(
          `SELECT source_partition AS p, toString(source_offset) AS o, toString(ingest_time_ms) AS t, event_id AS id FROM ${table} WHERE pipeline = '${name}' AND (${[...partitions, fresh].join(" OR ")})`,
        );
        for (const row of rows) {
          const offset = BigInt(row.o);
          if (offset > (offsets.get(Number(row.p)) ?? -1n)) offsets.set(Number(row.p), offset);
          if (row.id.startsWith(`${runPrefix}-`)) {
            visible.push(sentAt - Number(row.t));
            seen += 1;
          }
        }
        if (accepted !== undefined && seen >= accepted) break;
        await new Promise((resolve) => setTimeout(resolve, Math.max(0, options.pollMs - (Date.now() - sentAt))));
      }
      const result = await load;
      stored += result.accepted;
      const scored = await env.clickhouse.query<{ d: string }>(
        `SELECT toString(toInt64(score_time_ms) - toInt64(ingest_time_ms)) AS d FROM ${table} WHERE pipeline = '${name}' AND event_id LIKE '${runPrefix}-%'`,
      );
      return {
        scored: scored.map((r) => Number(r.d)),
        visible,
        accepted: result.accepted,
        sent: expected,
        refusals: result.refusals,
      };
    }

    /** The latency runs at one rate, or the refusal when the API did not take all of a run. */
    async function latencyRuns(offeredRate: number, run0: number) {
      await latencyRun(run0, Math.min(3, options.latencySeconds), offeredRate);
      const scoredRuns: number[][] = [];
      const visibleRuns: number[][] = [];
      const loopDelayP99: number[] = [];
      for (let run = 1; run <= options.runs; run += 1) {
        // How long each service's event loop was held is part of the latency; the first read resets it.
        await services.loopDelayP99();
        const r = await latencyRun(run0 + run, options.latencySeconds, offeredRate);
        if (r.accepted < r.sent) {
          options.log(
            `  latency run ${run} at ${offeredRate}/s: the API accepted ${r.accepted} of ${r.sent} events (refused requests: ${describeRefusals(r.refusals)})`,
          );
          return { refused: { rate: offeredRate, accepted: r.accepted, sent: r.sent, refusals: r.refusals } };
        }
        const delay = Math.max(...(await services.loopDelayP99()));
        loopDelayP99.push(delay);
        scoredRuns.push(r.scored);
        visibleRuns.push(r.visible);
        options.log(
          `  latency run ${run} at ${offeredRate}/s: scored p99 ${percentile(r.scored, 0.99)} ms, ClickHouse p99 ${percentile(r.visible, 0.99)} ms, event-loop delay p99 ${Math.round(delay)} ms (slowest service)`,
        );
      }
      return { measured: { scoredRuns, visibleRuns, loopDelayP99 } };
    }

    /** The same latency runs at the low load, measured once the half-load ones are done. */
    async function lowLoad(): Promise<LowLoadLatency | undefined> {
      const lowRate = options.lowRate ?? 0;
      if (lowRate <= 0) return undefined;
      const outcome = await latencyRuns(lowRate, 900);
      if (outcome.refused) return { rate: lowRate, refused: outcome.refused };
      return { rate: lowRate, scored: latencySummary(outcome.measured.scoredRuns) };
    }

    // A rate the API refuses part of is measured again lower, down to the highest it takes whole.
    const refused: PipelineResult["refused"] = [];
    const stepDown = options.stepDown ?? 0.75;
    const maxStepDowns = options.maxStepDowns ?? 4;
    let offeredRate = plannedRate;
    for (;;) {
      const outcome = await latencyRuns(offeredRate, (refused.length + 1) * 100);
      if (outcome.measured) {
        const { scoredRuns, visibleRuns, loopDelayP99 } = outcome.measured;
        return {
          rate,
          cpuPerThousand: summarize(cpus),
          offeredRate,
          plannedRate,
          refused,
          scored: latencySummary(scoredRuns),
          clickhouse: latencySummary(visibleRuns),
          loopDelayP99: summarize(loopDelayP99),
          low: await lowLoad(),
        };
      }
      refused.push(outcome.refused);
      if (refused.length > maxStepDowns) {
        const tried = refused.map((r) => `${r.accepted} of ${r.sent} accepted at ${r.rate}/s`).join(", ");
        throw new Error(`latency: the API refused events at every rate tried (${tried})`);
      }
      offeredRate = Math.max(1, Math.floor(offeredRate * stepDown));
    }
  } finally {
    await running?.stop();
    await pipeline.delete();
  }
}
