// Scenarios and their seeded fault schedules: which fault hits which process when. Pure, so the
// same seed always gives the same run and the schedule can be tested without servers.

import { memoryBudgetMiB } from "../../infra/local/services.ts";
import { seededRandom } from "../../services/shared/random.ts";

export type FaultKind =
  /** kill -9, then start again. */
  | "kill"
  /** SIGTERM (a clean stop), then start again. */
  | "term"
  /** SIGSTOP for `pauseMs`, then SIGCONT: a zombie that wakes up after the group moved on. */
  | "pause"
  /** kill -9 of the broker, then start it again (after `downMs`). */
  | "broker-hard"
  /** SIGTERM of the broker (controlled shutdown), then start it again (after `downMs`). */
  | "broker-clean"
  /** SIGSTOP of the broker for `pauseMs`. */
  | "broker-pause"
  /** kill -9 of ClickHouse, then start it again. */
  | "clickhouse-kill"
  /** kill -9 of ClickHouse while an insert into the predictions table is running, then start it again. */
  | "clickhouse-kill-mid-insert"
  /** SIGSTOP of ClickHouse for `pauseMs`: inserts hang instead of failing. */
  | "clickhouse-pause"
  /** Starts a spare instance when it is stopped, stops it (SIGTERM) when it runs: scaling out and in. */
  | "toggle"
  /** The next change of the model cycle (models.ts), written to the model log as an operator would. */
  | "model-change";

export const instanceNames = [
  "producer",
  "transformer-1",
  "transformer-2",
  "inference-1",
  "inference-2",
  "monitor",
] as const;
/** Instances that run only while a "toggle" fault has them started. */
export const spareInstances = ["transformer-3", "inference-3"] as const;
export type InstanceName = (typeof instanceNames)[number] | (typeof spareInstances)[number];

export interface FaultSpec {
  kind: FaultKind;
  /** The process faulted; brokers and ClickHouse have one. */
  target?: InstanceName;
  count: number;
  pauseMs?: number;
  /** How long a stopped broker stays down before it is started again (0: at once). */
  downMs?: number;
  /** Instances killed (kill -9) and started again while the broker is down: their start-up must wait for it. */
  restartWhileDown?: InstanceName[];
}

export interface ScheduledFault {
  atMs: number;
  kind: FaultKind;
  target?: InstanceName;
  pauseMs?: number;
  downMs?: number;
  restartWhileDown?: InstanceName[];
}

export interface Scenario {
  name: string;
  description: string;
  faults: FaultSpec[];
  /** Share of transactions aborted on purpose (the services' test-only switch). */
  abortShare?: number;
  /** Partitions per topic (3 unless a scenario needs another count). */
  partitions?: number;
  events: number;
  ratePerSecond: number;
  /**
   * Load relative to the cluster's capacity, measured by the run itself first (`calibrateSeconds` of
   * sending well above it). Then `ratePerSecond` becomes factor × capacity and `events` that rate for
   * `sendSeconds`.
   */
  load?: { factor: number; sendSeconds: number; calibrateSeconds: number };
  /** Requests in flight at once (4 unless a scenario needs more to reach its rate). */
  lanes?: number;
  /** How long the pipeline may take to drain after the last fault and send (120 s unless a scenario says). */
  drainTimeoutMs?: number;
  /**
   * The model registry before sending (versions in a model folder of the run's own): the champion,
   * and a shadow that stays for the whole run. Set, the run checks decisions and shadow scores per role.
   */
  models?: { champion: number; shadow: number };
}

/** What a fault hits when it names no instance: the broker, ClickHouse, or the model registry. */
export function faultTarget(fault: Pick<ScheduledFault, "kind" | "target">): string {
  if (fault.target) return fault.target;
  if (fault.kind === "model-change") return "registry";
  return fault.kind.startsWith("broker") ? "kafka" : "clickhouse";
}

/**
 * Resident memory each process of a run must stay under (peak RSS, sampled every second): the
 * services' budgets, which their consumers' bounded fetches, the API's bounded queue and the heap
 * limits keep under overload too. The transformer's state is bounded by event time, not by load:
 * each card's ids and amounts of the last hour, about 140 bytes of heap an event. The broker's heap
 * is 384 MiB (STACK_KAFKA_HEAP).
 */
export const memoryCapsMiB: Record<string, number> = {
  ...memoryBudgetMiB,
  kafka: 1024,
  clickhouse: 2048,
};

/**
 * Spreads the faults over [10%, 80%] of the send time in seeded random order, at least `gapMs`
 * apart where the window allows, so every fault lands mid-stream and recovery overlaps traffic.
 */
export function scheduleFaults(
  faults: readonly FaultSpec[],
  seed: number,
  sendMs: number,
  gapMs = 0,
): ScheduledFault[] {
  const random = seededRandom(seed);
  const flat: Omit<ScheduledFault, "atMs">[] = [];
  for (const f of faults) {
    for (let i = 0; i < f.count; i += 1) {
      flat.push({
        kind: f.kind,
        target: f.target,
        pauseMs: f.pauseMs,
        downMs: f.downMs,
        ...(f.restartWhileDown ? { restartWhileDown: f.restartWhileDown } : {}),
      });
    }
  }
  // Fisher–Yates with the seeded source: which fault comes first is part of the seed.
  for (let i = flat.length - 1; i > 0; i -= 1) {
    const j = Math.floor(random() * (i + 1));
    [flat[i], flat[j]] = [flat[j] as (typeof flat)[number], flat[i] as (typeof flat)[number]];
  }
  const start = sendMs * 0.1;
  const window = sendMs * 0.7;
  const slot = flat.length > 0 ? window / flat.length : 0;
  const gap = Math.min(gapMs, slot);
  // One slot per fault, a random point in each slot, so the gaps hold and the order is kept.
  return flat.map((f, i) => ({ ...f, atMs: Math.round(start + i * slot + random() * (slot - gap)) }));
}

/**
 * The schedule of a run that changes models: the changes evenly spaced over [10%, 80%] of the send,
 * each kill a seeded 15–40% of a phase after an even-numbered change, the killed instance seeded.
 * Not the shuffle of `scheduleFaults`: a kill -9 stops every inference partition until the dead
 * member's session times out (about 30 s), and a shuffle let those stalls swallow whole phases, so a
 * promotion could pass without a single decision by the promoted version. Here the phase with a kill
 * decides before it, and the next one after the stall.
 */
export function scheduleModelChanges(faults: readonly FaultSpec[], seed: number, sendMs: number): ScheduledFault[] {
  const random = seededRandom(seed);
  const changes = faults.filter((f) => f.kind === "model-change").reduce((n, f) => n + f.count, 0);
  const kills = faults.flatMap((f) =>
    f.kind === "kill" && f.target ? Array.from({ length: f.count }, () => f.target as InstanceName) : [],
  );
  const others = faults.filter((f) => f.kind !== "model-change" && f.kind !== "kill");
  if (others.length > 0) throw new Error("a model-change schedule holds model changes and kills only");
  if (changes === 0 || kills.length > Math.ceil(changes / 2)) {
    throw new Error(`${kills.length} kills need at least ${kills.length * 2 - 1} model changes, one phase apart`);
  }
  for (let i = kills.length - 1; i > 0; i -= 1) {
    const j = Math.floor(random() * (i + 1));
    [kills[i], kills[j]] = [kills[j] as InstanceName, kills[i] as InstanceName];
  }
  const phase = (sendMs * 0.7) / changes;
  const schedule: ScheduledFault[] = [];
  for (let i = 0; i < changes; i += 1) {
    const at = sendMs * 0.1 + i * phase;
    schedule.push({ kind: "model-change", atMs: Math.round(at) });
    const target = i % 2 === 0 ? kills[i / 2] : undefined;
    if (target) schedule.push({ kind: "kill", target, atMs: Math.round(at + phase * (0.15 + 0.25 * random())) });
  }
  return schedule;
}

const every = (kind: FaultKind, count: number, targets: readonly InstanceName[]): FaultSpec[] =>
  targets.map((target) => ({ kind, target, count }));

const consumers: InstanceName[] = ["transformer-1", "inference-1", "monitor"];

/** The scenarios `npm run chaos -- --scenario NAME` runs; `events` is the default size. */
export const scenarios: Record<string, Scenario> = {
  short: {
    name: "short",
    description:
      "one kill -9 of a transformer, an inference instance and the monitor, one ClickHouse kill while an insert runs",
    faults: [...every("kill", 1, consumers), { kind: "clickhouse-kill-mid-insert", count: 1 }],
    events: 20_000,
    ratePerSecond: 400,
  },
  kill: {
    name: "kill",
    description: "kill -9 and restart of every service, 3 times each",
    faults: every("kill", 3, instanceNames),
    events: 100_000,
    ratePerSecond: 1000,
  },
  term: {
    name: "term",
    description: "SIGTERM and restart of every service, 3 times each",
    faults: every("term", 3, instanceNames),
    events: 100_000,
    ratePerSecond: 1000,
  },
  clickhouse: {
    name: "clickhouse",
    description: "ClickHouse killed with kill -9 twice: once while an insert runs, once at a random time",
    faults: [
      { kind: "clickhouse-kill-mid-insert", count: 1 },
      { kind: "clickhouse-kill", count: 1 },
    ],
    events: 100_000,
    ratePerSecond: 1000,
  },
  "clickhouse-pause": {
    name: "clickhouse-pause",
    description: "ClickHouse paused (SIGSTOP) for 120 s while the pipeline runs at its measured capacity",
    faults: [{ kind: "clickhouse-pause", count: 1, pauseMs: 120_000 }],
    load: { factor: 1, sendSeconds: 240, calibrateSeconds: 30 },
    lanes: 16,
    events: 0,
    ratePerSecond: 0,
    drainTimeoutMs: 600_000,
  },
  overload: {
    name: "overload",
    description: "3× the cluster's measured capacity for 5 minutes, no faults",
    faults: [],
    load: { factor: 3, sendSeconds: 300, calibrateSeconds: 30 },
    // Each key is sent serially and honours Retry-After: enough lanes that 3× capacity is offered
    // even while answers are slow or refusals make lanes wait.
    lanes: 2048,
    events: 0,
    ratePerSecond: 0,
    drainTimeoutMs: 1_800_000,
  },
  pause: {
    name: "pause",
    description: "a transformer and an inference instance paused past the session timeout, then resumed",
    faults: [
      { kind: "pause", target: "transformer-1", count: 1, pauseMs: 45_000 },
      { kind: "pause", target: "inference-2", count: 1, pauseMs: 45_000 },
    ],
    events: 100_000,
    ratePerSecond: 1000,
  },
  broker: {
    name: "broker",
    description: "3 hard broker bounces (one of them down for 60 s) and a broker pause",
    faults: [
      { kind: "broker-hard", count: 2 },
      { kind: "broker-hard", count: 1, downMs: 60_000 },
      { kind: "broker-pause", count: 1, pauseMs: 10_000 },
    ],
    events: 100_000,
    ratePerSecond: 1000,
  },
  "broker-outage": {
    name: "broker-outage",
    description:
      "the broker killed with kill -9 and kept down for 60 s mid-stream, an inference instance and the API killed and started again meanwhile: every service waits it out by itself",
    faults: [{ kind: "broker-hard", count: 1, downMs: 60_000, restartWhileDown: ["inference-1", "producer"] }],
    events: 20_000,
    ratePerSecond: 250,
  },
  "broker-clean": {
    name: "broker-clean",
    description: "3 clean broker bounces (SIGTERM: controlled shutdown, then a start; one of them down for 60 s)",
    faults: [
      { kind: "broker-clean", count: 2 },
      { kind: "broker-clean", count: 1, downMs: 60_000 },
    ],
    events: 100_000,
    ratePerSecond: 1000,
  },
  aborts: {
    name: "aborts",
    description: "5% of transactions aborted just before commit",
    faults: [],
    abortShare: 0.05,
    events: 100_000,
    ratePerSecond: 1000,
  },
  scale: {
    name: "scale",
    description: "a third transformer and inference instance added and removed about every 30 s",
    faults: [
      { kind: "toggle", target: "transformer-3", count: 3 },
      { kind: "toggle", target: "inference-3", count: 3 },
    ],
    events: 100_000,
    ratePerSecond: 1000,
  },
  "model-change": {
    name: "model-change",
    description:
      "8 model changes (canary at 30%, its weight to 50%, promote, rollback; twice), each inference instance killed (kill -9) twice, a shadow version scoring all along",
    faults: [
      { kind: "model-change", count: 8 },
      { kind: "kill", target: "inference-1", count: 2 },
      { kind: "kill", target: "inference-2", count: 2 },
    ],
    models: { champion: 1, shadow: 3 },
    // 300 s of sending: phases of 26 s, so a phase with a kill decides before it and the next one
    // after the ~30 s stall the kill causes (see scheduleModelChanges).
    events: 60_000,
    ratePerSecond: 200,
  },
  "single-partition": {
    name: "single-partition",
    description: "one partition per topic, kill -9 of each consumer once",
    faults: every("kill", 1, consumers),
    partitions: 1,
    events: 100_000,
    ratePerSecond: 1000,
  },
  gate: {
    name: "gate",
    description:
      "release gate: 10 kill -9 of each service, 2 hard (one down for 60 s) + 1 clean broker bounce, 1 ClickHouse kill, 2 pauses of 45 s, 5% aborts",
    faults: [
      ...every("kill", 10, instanceNames),
      { kind: "broker-hard", count: 1 },
      { kind: "broker-hard", count: 1, downMs: 60_000 },
      { kind: "broker-clean", count: 1 },
      { kind: "clickhouse-kill", count: 1 },
      { kind: "pause", target: "transformer-2", count: 1, pauseMs: 45_000 },
      { kind: "pause", target: "inference-1", count: 1, pauseMs: 45_000 },
    ],
    abortShare: 0.05,
    events: 1_000_000,
    ratePerSecond: 1000,
  },
};

/** The single-fault matrix (`npm run chaos -- --matrix`), each at its full size. */
export const matrixScenarios = [
  "kill",
  "term",
  "pause",
  "broker",
  "broker-outage",
  "broker-clean",
  "clickhouse",
  "aborts",
  "scale",
  "single-partition",
] as const;
