// The pure parts of `npm run demo -- --lifecycle`: how the replayed event time is laid out in
// phases of whole monitoring windows, the realized quality of a model version over a span of
// windows, and the summary a person reads. Each step of the loop is either done, with the numbers
// it rests on, or not done, with the reason: the summary never fills in a step that did not happen.
import type { RetrainReport } from "../models/retrain.ts";

/** Windows of event time per phase; the shadow phase grows window by window up to `shadowMax`. */
export interface PhaseWindows {
  /** Unlabelled: the rolling card features (one hour) fill up before anything is judged. */
  warmUp: number;
  preDrift: number;
  /** After the concept drift, before the trainer runs: the trainer's window. */
  postDrift: number;
  shadowMin: number;
  shadowMax: number;
  /** After the promotion: the new champion's realized quality. */
  afterPromotion: number;
}

export const defaultPhaseWindows: PhaseWindows = {
  warmUp: 12,
  preDrift: 4,
  postDrift: 6,
  shadowMin: 6,
  shadowMax: 12,
  afterPromotion: 4,
};

export interface LifecyclePlan {
  /** Event time of the first event: a window boundary. */
  startTime: number;
  windowMs: number;
  eventsPerWindow: number;
  /** Where the concept drift starts: the first window after the pre-drift phase. */
  driftFrom: number;
  /** The end of the longest run: never after `now`, so no event lies in the future. */
  latestEnd: number;
  phases: PhaseWindows;
}

/**
 * Lays the run out in whole windows ending no later than `now`: phases then start and end on window
 * boundaries, so a window holds one phase's events only (one model, one side of the drift).
 */
export function planLifecycle(
  now: number,
  windowSeconds: number,
  eventRatePerSecond: number,
  phases: PhaseWindows = defaultPhaseWindows,
): LifecyclePlan {
  const windowMs = windowSeconds * 1000;
  const windows = phases.warmUp + phases.preDrift + phases.postDrift + phases.shadowMax + phases.afterPromotion;
  const startTime = Math.floor((now - windows * windowMs) / windowMs) * windowMs;
  return {
    startTime,
    windowMs,
    eventsPerWindow: Math.round(windowSeconds * eventRatePerSecond),
    driftFrom: startTime + (phases.warmUp + phases.preDrift) * windowMs,
    latestEnd: startTime + windows * windowMs,
    phases,
  };
}

/** A realized quality row of model_quality (64-bit integers arrive as strings). */
export interface QualityRow {
  model_version: number | string;
  /** ms */
  window_start: number | string;
  metric: string;
  value: number | string;
  labelled: number | string;
}

export interface QualityFigure {
  /** Windows with at least the minimum of labels. */
  windows: number;
  labels: number;
  /** Means over those windows (the monitor's promotion and rollback decisions average the same way). */
  rocAuc: number | undefined;
  accuracy: number | undefined;
}

/** A version's realized ROC AUC and accuracy over the windows that start in [since, until). */
export function qualityOver(
  rows: readonly QualityRow[],
  version: number,
  since: number,
  until: number,
  minLabels: number,
): QualityFigure {
  const inSpan = rows.filter((r) => {
    const start = Number(r.window_start);
    return Number(r.model_version) === version && start >= since && start < until && Number(r.labelled) >= minLabels;
  });
  const mean = (metric: string) => {
    const values = inSpan.filter((r) => r.metric === metric).map((r) => Number(r.value));
    return values.length === 0 ? undefined : values.reduce((a, b) => a + b, 0) / values.length;
  };
  const windows = new Map<number, number>();
  for (const r of inSpan) windows.set(Number(r.window_start), Number(r.labelled));
  return {
    windows: windows.size,
    labels: [...windows.values()].reduce((a, b) => a + b, 0),
    rocAuc: mean("roc_auc"),
    accuracy: mean("accuracy"),
  };
}

export type Step<T> = { done: true; value: T } | { done: false; why: string };

/** A registry event as model_events holds it. */
export interface ModelEventFact {
  kind: string;
  version: number;
  actor: string;
  reason: string;
  /** Wall clock, ms. */
  at: number;
  evidence: Record<string, unknown>;
}

export interface PhaseFact {
  name: string;
  windows: number;
  /** Event time of the phase's first event. */
  fromTime: number;
  sent: number;
  accepted: number;
  labels: number;
}

export interface LifecycleFacts {
  /** The run's own pipeline name, and the shipped definition it runs. */
  pipeline: string;
  definition: string;
  startedAt: number;
  finishedAt: number;
  windowMs: number;
  minWindowLabels: number;
  autoPromote: boolean;
  labelRate: number;
  phases: PhaseFact[];
  drift: { description: string; fromTime: number; sentAt: number };
  champion: Step<{ version: number; actor: string }>;
  trigger: Step<ModelEventFact>;
  retrain: Step<{ report: RetrainReport; startedAt: number }>;
  recommendation: Step<ModelEventFact>;
  promotion: Step<{ version: number; at: number; by: string; reason: string; fromTime: number }>;
  quality: QualityRow[];
  events: ModelEventFact[];
  /** What became of the services (they are stopped at the end). */
  services: string;
}

const clock = (ms: number) => new Date(ms).toISOString().slice(11, 19);
const minute = (ms: number) => new Date(ms).toISOString().slice(11, 16);
const fixed = (value: number | undefined, digits = 4) => (value === undefined ? "n/a" : value.toFixed(digits));
const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const num = (value: unknown) => (typeof value === "number" ? value : Number(value));

/** A retrain request's evidence in words: which trigger, on what numbers. */
export function describeTrigger(event: ModelEventFact, driftFrom: number, windowMs: number): string {
  const e = event.evidence;
  const nth = (start: number) => {
    const k = Math.floor((start - driftFrom) / windowMs);
    return k >= 0 ? `window ${k + 1} after the drift` : `${-k} window${k === -1 ? "" : "s"} BEFORE the drift`;
  };
  if (e.trigger === "quality") {
    const start = num(e.windowStart);
    return `quality trigger: ${String(e.metric)} ${fixed(num(e.value))} is below ${String(e.threshold)} on ${num(e.labelled)} labels in the window ${minute(start)}–${minute(start + windowMs)} event time (${nth(start)})`;
  }
  if (e.trigger === "drift" && Array.isArray(e.windows)) {
    const windows = e.windows as Array<{ windowStart: number; drifted: string[] }>;
    const first = windows[0];
    return `drift trigger: ${windows.map((w) => `[${w.drifted.join(", ")}]`).join(" ")} drifted in ${windows.length} windows from ${first ? `${minute(first.windowStart)} event time (${nth(first.windowStart)})` : "?"}`;
  }
  return event.reason;
}

function table(rows: Array<[string, QualityFigure]>, indent: string): string[] {
  const width = Math.max(...rows.map(([label]) => label.length));
  const head = `${indent}${"".padEnd(width)}  windows  labels  roc_auc  accuracy`;
  return [
    head,
    ...rows.map(
      ([label, q]) =>
        `${indent}${label.padEnd(width)}  ${String(q.windows).padStart(7)}  ${String(q.labels).padStart(6)}  ${fixed(q.rocAuc).padStart(7)}  ${fixed(q.accuracy).padStart(8)}`,
    ),
  ];
}

/** The demo's closing summary: one block per step of the loop, then the quality before and after. */
export function lifecycleSummary(f: LifecycleFacts): string {
  const pad = "                    ";
  const out: string[] = [];
  const add = (label: string, lines: string | string[]) => {
    const [first = "", ...rest] = Array.isArray(lines) ? lines : [lines];
    out.push(`  ${label.padEnd(18)}${first}`, ...rest.map((l) => `${pad}${l}`));
  };
  const windows = f.phases.reduce((n, p) => n + p.windows, 0);
  out.push(
    `streamscore lifecycle demo — ${((f.finishedAt - f.startedAt) / 1000).toFixed(0)} s, pipeline ${f.pipeline} (the ${f.definition} definition and policy under a name of its own, with a registry of its own)`,
  );
  add("event time", [
    `${windows} windows of ${f.windowMs / 60_000} min replayed: ${f.phases.map((p) => `${p.windows} ${p.name}`).join(", ")}`,
    `${f.phases.reduce((n, p) => n + p.accepted, 0)} payments accepted, ${f.phases.reduce((n, p) => n + p.labels, 0)} labels published (${Math.round(f.labelRate * 100)}% of the events after the warm-up)`,
  ]);

  add(
    "1 champion",
    f.champion.done
      ? `v${f.champion.value.version} registered and promoted by "${f.champion.value.actor}", so the trainer has a champion to beat`
      : `NOT DONE: ${f.champion.why}`,
  );
  add("2 concept drift", [
    `from ${minute(f.drift.fromTime)} event time (window ${minute(f.drift.fromTime)}–${minute(f.drift.fromTime + f.windowMs)} on): ${f.drift.description}`,
    "the events themselves are unchanged; only their labels say the model is now wrong",
  ]);

  if (f.trigger.done) {
    const t = f.trigger.value;
    add("3 policy fired", [
      `retrain-requested for v${t.version} at ${clock(t.at)}, ${seconds(t.at - f.drift.sentAt)} after the first post-drift event was sent`,
      describeTrigger(t, f.drift.fromTime, f.windowMs),
    ]);
  } else add("3 policy fired", `NO: ${f.trigger.why}`);

  if (f.retrain.done) {
    const { report: r, startedAt } = f.retrain.value;
    const metric = (side: RetrainReport["champion"], name: string) => fixed(side.overall[name]);
    const registeredAt = startedAt + r.seconds.toRegistered * 1000;
    const fromTrigger = f.trigger.done
      ? `, ${seconds(registeredAt - f.trigger.value.at)} after the policy fired`
      : " (the policy had not fired)";
    add("4 trainer", [
      `window ${minute(Date.parse(r.window.since))}–${minute(Date.parse(r.window.until))} event time: ${r.rows.usable} labelled events, ${r.rows.train} train / ${r.rows.holdout} holdout`,
      `holdout roc_auc: champion v${r.champion.version} ${metric(r.champion, "roc_auc")}, candidate v${r.version} ${metric(r.candidate, "roc_auc")}; accuracy ${metric(r.champion, "accuracy")} vs ${metric(r.candidate, "accuracy")}`,
      `gate (${r.metric}, margin ${String(r.gate.evidence.margin ?? "?")}): ${r.gate.pass ? "passes" : `fails: ${r.gate.reasons.join("; ")}`} → v${r.version} ${r.decision}`,
      `training ${seconds(r.seconds.training * 1000)}; candidate registered ${seconds(r.seconds.toRegistered * 1000)} after the trainer started${fromTrigger}`,
    ]);
  } else add("4 trainer", `NOT RUN or FAILED: ${f.retrain.why}`);

  const recommendation = f.recommendation.done
    ? [
        `promotion-recommended for v${f.recommendation.value.version} by the monitor at ${clock(f.recommendation.value.at)}:`,
        f.recommendation.value.reason,
      ]
    : [`no promotion-recommended: ${f.recommendation.why}`];
  const promotion = f.promotion.done
    ? [
        `v${f.promotion.value.version} promoted at ${clock(f.promotion.value.at)} by "${f.promotion.value.by}" (the policy's autoPromote is ${f.autoPromote ? "on" : "off: a person approves, here the demo as the operator"}), reason "${f.promotion.value.reason.slice(0, 60)}${f.promotion.value.reason.length > 60 ? "…" : ""}"`,
        "the displaced champion was put back in shadow, so both are measured on the same windows afterwards",
      ]
    : [`NOT PROMOTED: ${f.promotion.why}`];
  const shadowPhase = f.phases.find((p) => p.name === "in shadow");
  add("5 shadow", [
    shadowPhase
      ? `the candidate scored ${shadowPhase.windows} windows in shadow beside the champion (every event, deciding nothing)`
      : "no shadow phase ran",
    ...recommendation,
    ...promotion,
  ]);

  const q = (version: number, since: number, until: number) =>
    qualityOver(f.quality, version, since, until, f.minWindowLabels);
  const preDrift = f.phases.find((p) => p.name === "before the drift");
  const champion = f.retrain.done ? f.retrain.value.report.champion.version : 1;
  const candidate = f.retrain.done ? f.retrain.value.report.version : undefined;
  const end = Number.MAX_SAFE_INTEGER;
  const promotedFrom = f.promotion.done ? f.promotion.value.fromTime : end;
  const rows: Array<[string, QualityFigure]> = [];
  if (preDrift)
    rows.push([`v${champion} champion, before the drift`, q(champion, preDrift.fromTime, f.drift.fromTime)]);
  rows.push([`v${champion} champion, after the drift`, q(champion, f.drift.fromTime, promotedFrom)]);
  if (candidate !== undefined && f.retrain.done && f.retrain.value.report.decision === "shadow") {
    rows.push([`v${candidate} in shadow, same windows as v${champion}`, q(candidate, f.drift.fromTime, promotedFrom)]);
  }
  if (f.promotion.done) {
    rows.push([
      `v${f.promotion.value.version} champion, after the promotion`,
      q(f.promotion.value.version, promotedFrom, end),
    ]);
    rows.push([`v${champion} in shadow, same windows`, q(champion, promotedFrom, end)]);
  }
  const before = q(champion, f.drift.fromTime, promotedFrom);
  const after = f.promotion.done ? q(f.promotion.value.version, promotedFrom, end) : undefined;
  add("6 quality", [
    `realized, from model_quality (kind 'realized'): mean over windows with ${f.minWindowLabels}+ labels`,
    ...table(rows, ""),
    after && after.windows > 0 && before.windows > 0
      ? `served model's roc_auc after the drift: ${fixed(before.rocAuc)} (v${champion}) → ${fixed(after.rocAuc)} (v${f.promotion.done ? f.promotion.value.version : "?"} after the promotion); accuracy ${fixed(before.accuracy)} → ${fixed(after.accuracy)}`
      : "no before/after comparison: the new champion has no labelled window after a promotion",
  ]);

  const rollbacks = f.events.filter((e) => e.kind === "rollback" || e.kind === "rollback-recommended");
  add(
    "rollback",
    rollbacks.length > 0
      ? rollbacks.map((e) => `${e.kind} v${e.version} by ${e.actor}: ${e.reason}`)
      : f.promotion.done
        ? [
            "not judged in this run: the monitor compares a new champion with the old one on windows that start",
            "after the promotion's wall-clock time, and a replay's event time lies behind the wall clock",
          ]
        : ["none"],
  );
  add(
    "audit trail",
    f.events.map(
      (e) =>
        `${clock(e.at)} ${e.kind.padEnd(21)} v${e.version}  ${e.actor.padEnd(28)} ${e.reason.length > 90 ? `${e.reason.slice(0, 89)}…` : e.reason}`,
    ),
  );
  add("services", f.services);
  return out.join("\n");
}
