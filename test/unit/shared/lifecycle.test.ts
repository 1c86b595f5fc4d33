import { describe, expect, it } from "vitest";
import {
  type ChangeRequest,
  type Deployment,
  emptyDeployment,
  foldEvents,
  type ModelEvent,
  planChange,
  servedVersions,
} from "../../../services/shared/model/lifecycle.ts";

let clock = 0;
/** Applies a request the way the log does: plan, then fold the planned events in order. */
function change(deployment: Deployment, request: Omit<ChangeRequest, "actor" | "reason"> & { reason?: string }) {
  const changes = planChange(deployment, { actor: "tester", reason: "because", ...request });
  const events: ModelEvent[] = changes.map((c, i) => ({
    eventId: `e${clock}-${i}`,
    changeId: `c${clock}`,
    pipeline: deployment.pipeline,
    version: c.version,
    kind: c.kind,
    fromState: c.fromState,
    toState: c.toState,
    weight: c.weight,
    actor: "tester",
    reason: request.reason ?? "because",
    at: ++clock,
    evidence: {},
  }));
  return { events, next: foldEvents(deployment.pipeline, [...eventsOf(deployment), ...events]) };
}

const logs = new WeakMap<Deployment, ModelEvent[]>();
function eventsOf(deployment: Deployment): ModelEvent[] {
  return logs.get(deployment) ?? [];
}
function run(deployment: Deployment, request: Parameters<typeof change>[1]): Deployment {
  const { events, next } = change(deployment, request);
  logs.set(next, [...eventsOf(deployment), ...events]);
  return next;
}

function withChampion(): Deployment {
  let d = emptyDeployment("payments");
  d = run(d, { action: "register", version: 1 });
  d = run(d, { action: "promote", version: 1 });
  return d;
}

describe("model lifecycle", () => {
  it("registers, shadows, canaries and promotes, moving the old champion back to registered", () => {
    let d = withChampion();
    expect(d.champion).toBe(1);
    d = run(d, { action: "register", version: 2 });
    d = run(d, { action: "shadow", version: 2 });
    expect(d.shadows).toEqual([2]);
    expect(servedVersions(d)).toEqual([1, 2]);
    d = run(d, { action: "canary", version: 2, weight: 10 });
    expect(d.canary).toEqual({ version: 2, weight: 10 });
    expect(d.shadows).toEqual([]);
    d = run(d, { action: "canary", version: 2, weight: 25 });
    expect(d.canary).toEqual({ version: 2, weight: 25 });
    const promoted = change(d, { action: "promote", version: 2 });
    expect(promoted.events.map((e) => [e.version, e.fromState, e.toState])).toEqual([
      [2, "canary", "champion"],
      [1, "champion", "registered"],
    ]);
    d = run(d, { action: "promote", version: 2 });
    expect(d.champion).toBe(2);
    expect(d.canary).toBeUndefined();
    expect(d.versions.get(1)?.state).toBe("registered");
    expect(d.championHistory).toEqual([1, 2]);
  });

  it("rolls back to the newest earlier champion that is still registered and retires the current one", () => {
    let d = withChampion();
    for (const v of [2, 3]) {
      d = run(d, { action: "register", version: v });
      d = run(d, { action: "promote", version: v });
    }
    d = run(d, { action: "retire", version: 2 });
    const { events } = change(d, { action: "rollback" });
    expect(events.map((e) => [e.version, e.fromState, e.toState])).toEqual([
      [3, "champion", "retired"],
      [1, "registered", "champion"],
    ]);
    d = run(d, { action: "rollback" });
    expect(d.champion).toBe(1);
    expect(() => planChange(d, { action: "rollback", actor: "t", reason: "r" })).toThrow(
      /no earlier champion of payments is still registered/,
    );
  });

  it("rolls back to a former champion kept in shadow after its successor's promotion", () => {
    let d = withChampion();
    d = run(d, { action: "register", version: 2 });
    d = run(d, { action: "promote", version: 2 });
    d = run(d, { action: "shadow", version: 1 });
    expect(d.shadows).toEqual([1]);
    const { events } = change(d, { action: "rollback" });
    expect(events.map((e) => [e.version, e.fromState, e.toState])).toEqual([
      [2, "champion", "retired"],
      [1, "shadow", "champion"],
    ]);
    d = run(d, { action: "rollback" });
    expect([d.champion, d.shadows]).toEqual([1, []]);
  });

  it("refuses illegal changes with a clear error", () => {
    const d = withChampion();
    const refused = (request: Omit<ChangeRequest, "actor">) => () => planChange(d, { actor: "t", ...request });
    expect(refused({ action: "promote", version: 9, reason: "r" })).toThrow(/version 9 is not registered/);
    expect(refused({ action: "register", version: 1, reason: "r" })).toThrow(/registered already \(state champion\)/);
    expect(refused({ action: "retire", version: 1, reason: "r" })).toThrow(/version 1 is champion; retire needs/);
    expect(refused({ action: "promote", version: 1, reason: " " })).toThrow(/reason: a reason is required/);
    expect(refused({ action: "shadow", reason: "r" })).toThrow(/version: shadow needs a positive whole version/);
    let e = run(d, { action: "register", version: 2 });
    e = run(e, { action: "register", version: 3 });
    expect(() => planChange(e, { action: "canary", version: 2, weight: 100, actor: "t", reason: "r" })).toThrow(
      /weight: a canary's weight is a percentage above 0 and below 100/,
    );
    e = run(e, { action: "canary", version: 2, weight: 5 });
    expect(() => planChange(e, { action: "canary", version: 3, weight: 5, actor: "t", reason: "r" })).toThrow(
      /version 2 is the canary already/,
    );
    expect(() => planChange(emptyDeployment("p"), { action: "rollback", actor: "t", reason: "r" })).toThrow(
      /no champion to roll back/,
    );
  });

  it("ignores another pipeline's events and refusals when folding", () => {
    const d = withChampion();
    const foreign: ModelEvent = { ...eventsOf(d)[0], pipeline: "other", version: 7 } as ModelEvent;
    const refusal: ModelEvent = {
      ...(eventsOf(d)[0] as ModelEvent),
      kind: "refused",
      version: 1,
      toState: null,
      reason: "key without model-admin scope",
    };
    const folded = foldEvents("payments", [...eventsOf(d), foreign, refusal]);
    expect([...folded.versions.keys()]).toEqual([1]);
    expect(folded.champion).toBe(1);
    expect(folded.versions.get(1)?.state).toBe("champion");
  });
});
