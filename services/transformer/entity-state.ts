// Per-entity state of the transformer: the recent events (event time and the values rolling
// features aggregate) and the event ids seen within the de-duplication window. Bounded by time:
// whatever is older than the longest window, counted back from the newest event, is evicted.
import type { PipelineDefinition } from "../shared/pipeline/definition.ts";

export interface EntityState {
  /** Event times (ms) of the entity's recent events, ascending. */
  times: number[];
  /** Per source field, the values aligned with `times`. */
  values: Record<string, number[]>;
  /** Event id → event time, for de-duplication. */
  seen: Map<string, number>;
  /** Newest event time seen (ms). */
  maxTime: number;
}

export interface StateRetention {
  rollingMs: number;
  dedupeMs: number;
  sources: string[];
}

export function stateRetention(definition: PipelineDefinition): StateRetention {
  const rolling = definition.features.filter((f) => f.kind === "rolling");
  return {
    rollingMs: Math.max(0, ...rolling.map((f) => f.windowSeconds * 1000)),
    dedupeMs: definition.cleaning.dedupe.windowSeconds * 1000,
    sources: [...new Set(rolling.map((f) => f.source))],
  };
}

export function emptyEntityState(retention: StateRetention): EntityState {
  return {
    times: [],
    values: Object.fromEntries(retention.sources.map((s) => [s, []])),
    seen: new Map(),
    maxTime: Number.NEGATIVE_INFINITY,
  };
}

export function isDuplicate(state: EntityState, eventId: string): boolean {
  return state.seen.has(eventId);
}

/** Adds an event, keeping `times` sorted so late events land in their place. */
export function addEvent(
  state: EntityState,
  retention: StateRetention,
  eventId: string,
  time: number,
  record: Record<string, unknown>,
): void {
  state.seen.set(eventId, time);
  if (time > state.maxTime) state.maxTime = time;
  if (retention.sources.length > 0) {
    let index = state.times.length;
    while (index > 0 && (state.times[index - 1] ?? 0) > time) index -= 1;
    state.times.splice(index, 0, time);
    for (const source of retention.sources) {
      state.values[source]?.splice(index, 0, Number(record[source] ?? 0));
    }
  }
  evict(state, retention);
}

function evict(state: EntityState, retention: StateRetention): void {
  const rollingCutoff = state.maxTime - retention.rollingMs;
  let drop = 0;
  while (drop < state.times.length && (state.times[drop] ?? 0) <= rollingCutoff) drop += 1;
  if (drop > 0) {
    state.times.splice(0, drop);
    for (const source of retention.sources) state.values[source]?.splice(0, drop);
  }
  const dedupeCutoff = state.maxTime - retention.dedupeMs;
  for (const [id, time] of state.seen) {
    if (time <= dedupeCutoff) state.seen.delete(id);
  }
}

/** Aggregates `source` over events in (time − window, time]. */
export function rollingAggregate(
  state: EntityState,
  source: string,
  aggregate: "count" | "sum" | "mean",
  time: number,
  windowMs: number,
): number {
  const values = state.values[source] ?? [];
  let count = 0;
  let sum = 0;
  for (let i = state.times.length - 1; i >= 0; i -= 1) {
    const t = state.times[i] ?? 0;
    if (t > time) continue;
    if (t <= time - windowMs) break;
    count += 1;
    sum += values[i] ?? 0;
  }
  if (aggregate === "count") return count;
  if (aggregate === "sum") return sum;
  return count === 0 ? 0 : sum / count;
}

/** The changelog form of a state (JSON-safe, compact). */
export interface EntityStateSnapshot {
  times: number[];
  values: Record<string, number[]>;
  seenIds: string[];
  seenTimes: number[];
  maxTime: number;
}

export function snapshotState(state: EntityState): EntityStateSnapshot {
  const seenIds: string[] = [];
  const seenTimes: number[] = [];
  for (const [id, time] of state.seen) {
    seenIds.push(id);
    seenTimes.push(time);
  }
  return { times: state.times, values: state.values, seenIds, seenTimes, maxTime: state.maxTime };
}

export function restoreState(snapshot: EntityStateSnapshot): EntityState {
  return {
    times: [...snapshot.times],
    values: Object.fromEntries(Object.entries(snapshot.values).map(([k, v]) => [k, [...v]])),
    seen: new Map(snapshot.seenIds.map((id, i) => [id, snapshot.seenTimes[i] ?? 0])),
    maxTime: snapshot.maxTime,
  };
}
