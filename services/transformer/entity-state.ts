// Per-entity state of the transformer: the recent events (event time and the values rolling
// features aggregate) and the event ids seen within the de-duplication window. Bounded by time:
// whatever is older than the longest window, counted back from the newest event, is evicted, and
// the ids evicted are returned so the changelog can forget them too.
import type { PipelineDefinition } from "../shared/pipeline/definition.ts";

export interface EntityState {
  /** Event times (ms) of the entity's recent events, ascending. */
  times: number[];
  /** Per source field, the values aligned with `times`. */
  values: Record<string, number[]>;
  /**
   * Event id → event time of every event still in a window, in the order added: de-duplication
   * looks at those within its own window, the changelog holds exactly these.
   */
  seen: Map<string, number>;
  /** Newest event time seen (ms). */
  maxTime: number;
}

export interface StateRetention {
  rollingMs: number;
  dedupeMs: number;
  /** The longer of the two windows: how long an event stays in the state at all. */
  keepMs: number;
  sources: string[];
}

export function stateRetention(definition: PipelineDefinition): StateRetention {
  const rolling = definition.features.filter((f) => f.kind === "rolling");
  const rollingMs = Math.max(0, ...rolling.map((f) => f.windowSeconds * 1000));
  const dedupeMs = definition.cleaning.dedupe.windowSeconds * 1000;
  return {
    rollingMs,
    dedupeMs,
    keepMs: Math.max(rollingMs, dedupeMs),
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

export function isDuplicate(state: EntityState, retention: StateRetention, eventId: string): boolean {
  const time = state.seen.get(eventId);
  return time !== undefined && time > state.maxTime - retention.dedupeMs;
}

/**
 * Adds an event, keeping `times` sorted so late events land in their place; returns the ids of the
 * events that left every window.
 */
export function addEvent(
  state: EntityState,
  retention: StateRetention,
  eventId: string,
  time: number,
  record: Record<string, unknown>,
): string[] {
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
  return evict(state, retention);
}

function evict(state: EntityState, retention: StateRetention): string[] {
  const rollingCutoff = state.maxTime - retention.rollingMs;
  let drop = 0;
  while (drop < state.times.length && (state.times[drop] ?? 0) <= rollingCutoff) drop += 1;
  if (drop > 0) {
    state.times.splice(0, drop);
    for (const source of retention.sources) state.values[source]?.splice(0, drop);
  }
  const keepCutoff = state.maxTime - retention.keepMs;
  const evicted: string[] = [];
  for (const [id, time] of state.seen) {
    if (time <= keepCutoff) {
      state.seen.delete(id);
      evicted.push(id);
    }
  }
  return evicted;
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
