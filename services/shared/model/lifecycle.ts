// The model registry's states and the changes between them, as an append-only log of events.
// A pipeline's deployment (its champion, canary and shadows) is the fold of its events in order;
// nothing is updated in place, so the same log is the audit trail. Pure: the Kafka log that holds
// the events is in kafka/model-log.ts.
import { z } from "zod";
import { StreamscoreError } from "../errors.ts";

export const modelStates = ["registered", "shadow", "canary", "champion", "retired", "rejected"] as const;
export type ModelState = (typeof modelStates)[number];

/** What a user (or the retraining policy) asks for. */
export const modelActions = ["register", "shadow", "canary", "promote", "rollback", "retire", "reject"] as const;
export type ModelAction = (typeof modelActions)[number];

/**
 * Every event in the log: a state change of one version, a refused request, or a policy's request
 * or recommendation (the monitor's, for a person to act on when the policy leaves it to one).
 */
export const modelEventKinds = [
  ...modelActions,
  "refused",
  "retrain-requested",
  "promotion-recommended",
  "rollback-recommended",
] as const;
export type ModelEventKind = (typeof modelEventKinds)[number];

export const modelEventSchema = z
  .object({
    eventId: z.string().min(1),
    /** The events of one change (a promote moves two versions) share it. */
    changeId: z.string().min(1),
    pipeline: z.string().min(1),
    version: z.number().int().positive().nullable(),
    kind: z.enum(modelEventKinds),
    fromState: z.enum(modelStates).nullable(),
    toState: z.enum(modelStates).nullable(),
    /** The canary's share of entities in percent, for canary events. */
    weight: z.number().nullable(),
    actor: z.string().min(1),
    reason: z.string().min(1),
    /** Milliseconds since the epoch. */
    at: z.number().int(),
    /** What the change was based on: the manifest on register, the numbers behind a policy's decision. */
    evidence: z.record(z.string(), z.unknown()),
  })
  .strict();

export type ModelEvent = z.output<typeof modelEventSchema>;

export interface VersionEntry {
  version: number;
  state: ModelState;
  /** Set while canary. */
  weight: number | undefined;
  registeredAt: number;
  changedAt: number;
  changedBy: string;
  reason: string;
  evidence: Record<string, unknown>;
}

export interface Deployment {
  pipeline: string;
  versions: Map<number, VersionEntry>;
  champion: number | undefined;
  canary: { version: number; weight: number } | undefined;
  shadows: number[];
  /** Versions that were champion, oldest first (the current one last when there is one). */
  championHistory: number[];
  /** Offset-ordered count of events folded, for "changed since" checks. */
  events: number;
}

export function emptyDeployment(pipeline: string): Deployment {
  return {
    pipeline,
    versions: new Map(),
    champion: undefined,
    canary: undefined,
    shadows: [],
    championHistory: [],
    events: 0,
  };
}

/** Folds one event into the deployment (a new object; the old one is left as it was). */
export function applyEvent(deployment: Deployment, event: ModelEvent): Deployment {
  const next: Deployment = {
    ...deployment,
    versions: new Map(deployment.versions),
    shadows: [...deployment.shadows],
    championHistory: [...deployment.championHistory],
    events: deployment.events + 1,
  };
  if (event.version === null || event.toState === null) return next;
  const previous = next.versions.get(event.version);
  next.versions.set(event.version, {
    version: event.version,
    state: event.toState,
    weight: event.toState === "canary" ? (event.weight ?? undefined) : undefined,
    registeredAt: previous?.registeredAt ?? event.at,
    changedAt: event.at,
    changedBy: event.actor,
    reason: event.reason,
    evidence: previous && event.kind !== "register" ? previous.evidence : event.evidence,
  });
  return withRoles(next, event);
}

function withRoles(deployment: Deployment, event: ModelEvent): Deployment {
  const version = event.version as number;
  if (deployment.champion === version && event.toState !== "champion") deployment.champion = undefined;
  if (deployment.canary?.version === version && event.toState !== "canary") deployment.canary = undefined;
  deployment.shadows = deployment.shadows.filter((v) => v !== version);
  if (event.toState === "champion") {
    deployment.champion = version;
    deployment.championHistory = [...deployment.championHistory.filter((v) => v !== version), version];
  }
  if (event.toState === "canary") deployment.canary = { version, weight: event.weight ?? 0 };
  if (event.toState === "shadow") deployment.shadows = [...deployment.shadows, version].sort((a, b) => a - b);
  return deployment;
}

export function foldEvents(pipeline: string, events: Iterable<ModelEvent>): Deployment {
  let deployment = emptyDeployment(pipeline);
  for (const event of events) if (event.pipeline === pipeline) deployment = applyEvent(deployment, event);
  return deployment;
}

export interface ChangeRequest {
  action: ModelAction;
  /** Not given for rollback: it goes back to the previous champion. */
  version?: number;
  /** Canary share of entities, in percent, 0 < weight < 100. */
  weight?: number;
  actor: string;
  reason: string;
  evidence?: Record<string, unknown>;
}

/** One state change of one version, as the request asks for it. */
export interface StateChange {
  version: number;
  kind: ModelAction;
  fromState: ModelState | null;
  toState: ModelState;
  weight: number | null;
}

const allowedFrom: Record<Exclude<ModelAction, "register" | "rollback">, readonly ModelState[]> = {
  shadow: ["registered", "canary"],
  canary: ["registered", "shadow", "canary"],
  promote: ["registered", "shadow", "canary"],
  retire: ["registered", "shadow", "canary", "rejected"],
  reject: ["registered", "shadow"],
};

function refuse(message: string): never {
  throw new StreamscoreError("MODEL_CHANGE_REFUSED", message);
}

/**
 * The state changes a request makes, or MODEL_CHANGE_REFUSED naming why not. A promote also moves
 * the champion it displaces back to `registered` (so a rollback can return to it); a rollback
 * retires the champion and restores the newest earlier champion that is still registered, or in
 * shadow (kept scoring after its promotion, to be compared with its successor on the same windows).
 */
export function planChange(deployment: Deployment, request: ChangeRequest): StateChange[] {
  if (request.reason.trim() === "") refuse("reason: a reason is required for every change");
  if (request.action === "rollback") return planRollback(deployment);
  const version = request.version;
  if (version === undefined || !Number.isInteger(version) || version <= 0) {
    refuse(`version: ${request.action} needs a positive whole version number`);
  }
  const entry = deployment.versions.get(version);
  if (request.action === "register") {
    if (entry) refuse(`version ${version} is registered already (state ${entry.state})`);
    return [{ version, kind: "register", fromState: null, toState: "registered", weight: null }];
  }
  if (!entry) refuse(`version ${version} is not registered in pipeline ${deployment.pipeline}`);
  const allowed = allowedFrom[request.action];
  if (!allowed.includes(entry.state)) {
    refuse(`version ${version} is ${entry.state}; ${request.action} needs one of: ${allowed.join(", ")}`);
  }
  const change = (toState: ModelState, weight: number | null = null): StateChange => ({
    version,
    kind: request.action,
    fromState: entry.state,
    toState,
    weight,
  });
  switch (request.action) {
    case "canary": {
      const weight = request.weight;
      if (weight === undefined || !Number.isFinite(weight) || weight <= 0 || weight >= 100) {
        refuse("weight: a canary's weight is a percentage above 0 and below 100");
      }
      if (deployment.champion === undefined) refuse("a canary needs a champion to split traffic with");
      const other = deployment.canary;
      if (other && other.version !== version) {
        refuse(`version ${other.version} is the canary already; promote, shadow or retire it first`);
      }
      return [change("canary", Math.round(weight * 100) / 100)];
    }
    case "promote": {
      const displaced = deployment.champion;
      const changes = [change("champion")];
      if (displaced !== undefined) {
        changes.push({
          version: displaced,
          kind: "promote",
          fromState: "champion",
          toState: "registered",
          weight: null,
        });
      }
      return changes;
    }
    case "shadow":
      return [change("shadow")];
    case "retire":
      return [change("retired")];
    case "reject":
      return [change("rejected")];
  }
}

const restorable: ReadonlySet<ModelState> = new Set(["registered", "shadow"]);

/** What a rollback of the deployment as it stands would do (MODEL_CHANGE_REFUSED when it cannot). */
export function planRollback(deployment: Deployment): StateChange[] {
  const current = deployment.champion;
  if (current === undefined) refuse("there is no champion to roll back");
  const target = [...deployment.championHistory]
    .reverse()
    .find((v) => v !== current && restorable.has(deployment.versions.get(v)?.state ?? "retired"));
  if (target === undefined) {
    refuse(`no earlier champion of ${deployment.pipeline} is still registered or in shadow to go back to`);
  }
  const fromState = deployment.versions.get(target)?.state ?? "registered";
  return [
    { version: current, kind: "rollback", fromState: "champion", toState: "retired", weight: null },
    { version: target, kind: "rollback", fromState, toState: "champion", weight: null },
  ];
}

/** The versions an inference instance must have loaded to serve the deployment. */
export function servedVersions(deployment: Deployment): number[] {
  const versions = new Set<number>(deployment.shadows);
  if (deployment.champion !== undefined) versions.add(deployment.champion);
  if (deployment.canary) versions.add(deployment.canary.version);
  return [...versions].sort((a, b) => a - b);
}
