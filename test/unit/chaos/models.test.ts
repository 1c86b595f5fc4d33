import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import {
  applyEvent,
  type ChangeRequest,
  type Deployment,
  emptyDeployment,
  planChange,
} from "../../../services/shared/model/lifecycle.ts";
import { payments } from "../../../services/shared/pipelines/payments.ts";
import { candidateVersion, decidingPairs, modelStepAt, modelVersions, prepareModelRoot } from "../../chaos/models.ts";
import { faultTarget, scenarios, scheduleModelChanges } from "../../chaos/schedule.ts";

const plan = { champion: 1, shadow: 3 };

/** The registry's fold of one change, as the model log's writer would append it. */
function apply(deployment: Deployment, request: Omit<ChangeRequest, "actor" | "reason">): Deployment {
  let next = deployment;
  for (const change of planChange(deployment, { ...request, actor: "test", reason: "test" })) {
    next = applyEvent(next, {
      ...change,
      eventId: "e",
      changeId: "c",
      pipeline: deployment.pipeline,
      at: 0,
      actor: "test",
      reason: "test",
      evidence: {},
    });
  }
  return next;
}

describe("chaos model changes", () => {
  it("takes candidates other than the champion and the shadow", () => {
    expect([0, 1, 2, 3].map((k) => candidateVersion(plan, k))).toEqual([2, 4, 5, 6]);
    expect(candidateVersion({ champion: 2, shadow: 1 }, 0)).toBe(3);
  });

  it("cycles canary 30 %, weight 50 %, promote, rollback, then the next candidate", () => {
    expect(Array.from({ length: 6 }, (_, n) => modelStepAt(plan, n))).toEqual([
      { action: "canary", version: 2, weight: 30 },
      { action: "canary", version: 2, weight: 50 },
      { action: "promote", version: 2 },
      { action: "rollback" },
      { action: "canary", version: 4, weight: 30 },
      { action: "canary", version: 4, weight: 50 },
    ]);
  });

  it("registers what the changes reach, plus a newest folder that is never registered", () => {
    expect(modelVersions(plan, 8)).toEqual({ registered: [1, 2, 3, 4], onDisk: [1, 2, 3, 4, 5] });
    expect(modelVersions(plan, 9)).toEqual({ registered: [1, 2, 3, 4, 5], onDisk: [1, 2, 3, 4, 5, 6] });
    expect(modelVersions(plan, 0).registered).toEqual([1, 2, 3]);
  });

  it("is legal change after change in the registry, the shadow never touched, and names what decides", () => {
    const changes = 12;
    let deployment = emptyDeployment("p");
    for (const version of modelVersions(plan, changes).registered) {
      deployment = apply(deployment, { action: "register", version });
    }
    deployment = apply(deployment, { action: "promote", version: 1 });
    deployment = apply(deployment, { action: "shadow", version: 3 });
    const seen = new Set(decidingPairs(deployment).map((p) => `v${p.version} ${p.role}`));
    for (let n = 0; n < changes; n += 1) {
      deployment = apply(deployment, modelStepAt(plan, n));
      expect(deployment.shadows).toEqual([3]);
      expect(deployment.champion).toBeDefined();
      for (const p of decidingPairs(deployment)) seen.add(`v${p.version} ${p.role}`);
    }
    expect([...seen].sort()).toEqual([
      "v1 champion",
      "v2 canary",
      "v2 champion",
      "v4 canary",
      "v4 champion",
      "v5 canary",
      "v5 champion",
    ]);
    expect(decidingPairs({ champion: 1, canary: { version: 2, weight: 30 } })).toEqual([
      { version: 1, role: "champion" },
      { version: 2, role: "canary" },
    ]);
  });

  const root = mkdtempSync(join(tmpdir(), "chaos-models-"));
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it("prepares a model root whose manifests name their folder's version", () => {
    prepareModelRoot(root, [1, 2, 5]);
    for (const version of [1, 2, 5]) {
      const dir = join(root, payments.model.directory, String(version));
      expect(JSON.parse(readFileSync(join(dir, "manifest.json"), "utf8")).version).toBe(version);
      expect(existsSync(join(dir, "model.onnx"))).toBe(true);
    }
  });

  it("schedules the model-change scenario's changes on the registry, the kills on inference", () => {
    const scenario = scenarios["model-change"];
    expect(scenario?.models).toEqual(plan);
    expect(scenario?.faults.map((f) => `${faultTarget(f)} ${f.kind} ×${f.count}`)).toEqual([
      "registry model-change ×8",
      "inference-1 kill ×2",
      "inference-2 kill ×2",
    ]);
  });

  it("spaces the changes evenly and puts each kill early in an even phase, seeded", () => {
    const faults = scenarios["model-change"]?.faults ?? [];
    const schedule = scheduleModelChanges(faults, 1, 300_000);
    expect(scheduleModelChanges(faults, 1, 300_000)).toEqual(schedule);
    expect(scheduleModelChanges(faults, 2, 300_000)).not.toEqual(schedule);
    const changes = schedule.filter((f) => f.kind === "model-change").map((f) => f.atMs);
    expect(changes).toEqual(Array.from({ length: 8 }, (_, i) => 30_000 + i * 26_250));
    const kills = schedule.filter((f) => f.kind === "kill");
    expect(kills.map((k) => k.target).sort()).toEqual(["inference-1", "inference-1", "inference-2", "inference-2"]);
    kills.forEach((kill, j) => {
      const after = (changes[2 * j] as number) + 26_250 * 0.15;
      expect(kill.atMs).toBeGreaterThanOrEqual(Math.floor(after));
      expect(kill.atMs).toBeLessThanOrEqual(Math.ceil((changes[2 * j] as number) + 26_250 * 0.4));
    });
    // In time order, so the run injects them as scheduled.
    expect(schedule.map((f) => f.atMs)).toEqual([...schedule.map((f) => f.atMs)].sort((a, b) => a - b));
    expect(() => scheduleModelChanges([{ kind: "model-change", count: 2 }, ...faults.slice(1)], 1, 1000)).toThrow(
      "need at least",
    );
  });
});
