import { describe, expect, it } from "vitest";
import type { LoadedModel } from "../../../services/inference/model.ts";
import type { ModelStore } from "../../../services/inference/model-store.ts";
import { createServingRoles, decidingRoles, type ServingSet } from "../../../services/inference/serving.ts";
import { createLogger } from "../../../services/shared/logger.ts";
import { type Deployment, emptyDeployment } from "../../../services/shared/model/lifecycle.ts";
import type { ModelManifest } from "../../../services/shared/model/manifest.ts";
import { routesToCanary } from "../../../services/shared/model/traffic-split.ts";

const logger = createLogger({ name: "test", level: "silent" });

/** A stand-in for an onnxruntime session: only the version and whether it was released matter here. */
function fakeModel(version: number, released: number[]): LoadedModel {
  return {
    manifest: { version } as ModelManifest,
    score: async () => ({ labels: [], probabilities: new Float64Array() }),
    release: async () => {
      released.push(version);
    },
  };
}

function deployment(parts: Partial<Deployment>): Deployment {
  return { ...emptyDeployment("shop"), ...parts };
}

function fallbackStore(model: LoadedModel | undefined): ModelStore {
  return {
    current: model,
    problem: model ? undefined : "no model versions",
    refresh: async () => model?.manifest.version,
    close: async () => {},
  };
}

describe("deciding roles", () => {
  const champion = fakeModel(1, []);
  const canary = fakeModel(2, []);
  const entities = Array.from({ length: 2000 }, (_, i) => `card-${i}`);

  it("sends every record to the champion when there is no canary", () => {
    const set: ServingSet = { champion, canary: undefined, shadows: [], source: "registry" };
    expect(new Set(decidingRoles(entities, set))).toEqual(new Set(["champion"]));
  });

  it("sends the canary exactly the entities the stable hash gives it, whatever the record order", () => {
    const set: ServingSet = { champion, canary: { model: canary, weight: 25 }, shadows: [], source: "registry" };
    const roles = decidingRoles(entities, set);
    entities.forEach((entity, i) => {
      expect(roles[i]).toBe(routesToCanary(entity, 25) ? "canary" : "champion");
    });
    const reversed = decidingRoles([...entities].reverse(), set).reverse();
    expect(reversed).toEqual(roles);
    // 25% of 2,000 entities: binomial standard deviation ≈ 19.4, so ±4σ ≈ ±78.
    const share = roles.filter((r) => r === "canary").length;
    expect(share).toBeGreaterThan(500 - 78);
    expect(share).toBeLessThan(500 + 78);
  });
});

describe("serving roles from the registry's deployment", () => {
  it("serves the newest folder while the registry names no champion, and the registry's versions after", async () => {
    const released: number[] = [];
    const loads: number[] = [];
    const roles = createServingRoles({
      modelDir: "/models/shop",
      fallback: fallbackStore(fakeModel(3, released)),
      load: async (dir) => {
        const version = Number(dir.split("/").pop());
        loads.push(version);
        return fakeModel(version, released);
      },
      logger,
    });
    await roles.update(deployment({}));
    expect(roles.current).toBeUndefined();
    expect(roles.takePending()?.source).toBe("newest folder");
    expect(roles.roles()).toEqual([{ version: 3, role: "champion" }]);

    await roles.update(deployment({ champion: 1, canary: { version: 2, weight: 10 }, shadows: [4] }));
    // Loaded, but not in use until the processor asks between transactions.
    expect(roles.current?.champion.manifest.version).toBe(3);
    roles.takePending();
    expect(roles.roles()).toEqual([
      { version: 1, role: "champion" },
      { version: 2, role: "canary" },
      { version: 4, role: "shadow" },
    ]);
    expect(loads).toEqual([1, 2, 4]);
    // Nothing new pending: the same set stays.
    expect(roles.takePending()?.champion.manifest.version).toBe(1);
  });

  it("keeps the set in use and says why when a version of the deployment fails to load", async () => {
    const roles = createServingRoles({
      modelDir: "/models/shop",
      fallback: fallbackStore(undefined),
      load: async (dir) => {
        const version = Number(dir.split("/").pop());
        if (version === 9) throw new Error("model.onnx does not match the manifest's sha256");
        return fakeModel(version, []);
      },
      logger,
    });
    await roles.update(deployment({ champion: 1 }));
    roles.takePending();
    await roles.update(deployment({ champion: 9 }));
    expect(roles.takePending()?.champion.manifest.version).toBe(1);
    expect(roles.problem).toContain("sha256");
    await roles.update(deployment({ champion: 1, shadows: [2] }));
    expect(roles.problem).toBeUndefined();
    expect(roles.takePending()?.shadows.map((m) => m.manifest.version)).toEqual([2]);
  });

  it("has no set while neither the registry nor the folder has a model", async () => {
    const roles = createServingRoles({
      modelDir: "/models/shop",
      fallback: fallbackStore(undefined),
      load: async () => {
        throw new Error("unreachable");
      },
      logger,
    });
    await roles.update(deployment({}));
    expect(roles.takePending()).toBeUndefined();
    expect(roles.problem).toContain("no model versions");
  });
});
