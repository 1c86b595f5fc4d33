// Which loaded models serve one pipeline, by role: the champion decides, a canary decides for its
// share of entities (a stable hash of the entity key), and every shadow scores every record without
// deciding. The registry's deployment (model/lifecycle.ts) says which versions hold which role; this
// module loads those versions from the model folder and swaps the whole set at once, and only when
// the transaction processor asks for it between transactions, so one transaction is scored by one set.
//
// A pipeline whose registry names no champion is served as before the registry existed: the highest
// version folder that loads is the champion.
import { join } from "node:path";
import { describeError } from "../shared/errors.ts";
import type { Logger } from "../shared/logger.ts";
import { type Deployment, servedVersions } from "../shared/model/lifecycle.ts";
import { routesToCanary } from "../shared/model/traffic-split.ts";
import type { ModelRole } from "../shared/pipeline/records.ts";
import type { LoadedModel } from "./model.ts";
import { listVersions, type ModelStore } from "./model-store.ts";

export interface ServingSet {
  champion: LoadedModel;
  canary: { model: LoadedModel; weight: number } | undefined;
  shadows: LoadedModel[];
  /** Where the champion came from: the registry, or the newest folder (no registry champion). */
  source: "registry" | "newest folder";
}

/** The deciding role of each record, by its entity: the canary's share goes to the canary. */
export function decidingRoles(entities: readonly string[], serving: ServingSet): Array<"champion" | "canary"> {
  const canary = serving.canary;
  return entities.map((entity) => (canary && routesToCanary(entity, canary.weight) ? "canary" : "champion"));
}

export interface ServingRoles {
  /** The set in use; undefined until a first one is loaded. */
  readonly current: ServingSet | undefined;
  /** Why the set in use is not the one the registry asks for (loading, or a version that fails). */
  readonly problem: string | undefined;
  /** Loads what the deployment needs; the set is swapped in by the next `takePending()`. */
  update(deployment: Deployment): Promise<void>;
  /** Swaps in the newest loaded set, if any; called between transactions. */
  takePending(): ServingSet | undefined;
  /** Versions in use, by role, for metrics and the models API. */
  roles(): Array<{ version: number; role: ModelRole }>;
  close(): Promise<void>;
}

export function createServingRoles(deps: {
  modelDir: string;
  /** The newest-folder store: the champion while the registry names none. */
  fallback: ModelStore;
  load: (versionDir: string) => Promise<LoadedModel>;
  logger: Logger;
}): ServingRoles {
  const loaded = new Map<number, LoadedModel>();
  let current: ServingSet | undefined;
  let pending: ServingSet | undefined;
  let problem: string | undefined;
  let updating: Promise<void> = Promise.resolve();

  async function version(v: number): Promise<LoadedModel> {
    const cached = loaded.get(v);
    if (cached) return cached;
    const model = await deps.load(join(deps.modelDir, String(v)));
    if (model.manifest.version !== v) {
      await model.release();
      throw new Error(`folder ${v} holds a manifest of version ${model.manifest.version}`);
    }
    loaded.set(v, model);
    deps.logger.info({ version: v }, "model version loaded for the registry");
    return model;
  }

  async function build(deployment: Deployment): Promise<ServingSet> {
    const fromRegistry = deployment.champion !== undefined;
    const champion = fromRegistry ? await version(deployment.champion as number) : deps.fallback.current;
    if (!champion) throw new Error(deps.fallback.problem ?? "no model loaded yet");
    const canary = deployment.canary
      ? { model: await version(deployment.canary.version), weight: deployment.canary.weight }
      : undefined;
    const shadows: LoadedModel[] = [];
    for (const v of deployment.shadows) shadows.push(await version(v));
    return { champion, canary, shadows, source: fromRegistry ? "registry" : "newest folder" };
  }

  /** Versions no set uses any more are released later: a batch may still hold them. */
  function releaseUnused(keep: readonly number[]): void {
    for (const [v, model] of loaded) {
      if (keep.includes(v)) continue;
      loaded.delete(v);
      setTimeout(() => void model.release(), 30_000).unref();
    }
  }

  return {
    get current() {
      return current;
    },
    get problem() {
      return problem;
    },
    update(deployment) {
      // One update at a time, in the order the log's events arrived.
      updating = updating.then(async () => {
        try {
          pending = await build(deployment);
          problem = undefined;
          const keep = servedVersions(deployment);
          if (current) keep.push(...[current.champion, current.canary?.model, ...current.shadows].flatMap(versionOf));
          releaseUnused(keep);
        } catch (error) {
          problem = `the registry's deployment cannot be served (${describeError(error)}); keeping the models in use`;
          deps.logger.error({ error: describeError(error) }, "model deployment failed to load");
        }
      });
      return updating;
    },
    takePending() {
      if (pending) {
        current = pending;
        pending = undefined;
      }
      return current;
    },
    roles() {
      if (!current) return [];
      return [
        { version: current.champion.manifest.version, role: "champion" as const },
        ...(current.canary ? [{ version: current.canary.model.manifest.version, role: "canary" as const }] : []),
        ...current.shadows.map((m) => ({ version: m.manifest.version, role: "shadow" as const })),
      ];
    },
    async close() {
      await Promise.all([...loaded.values()].map((m) => m.release()));
      loaded.clear();
    },
  };
}

function versionOf(model: LoadedModel | undefined): number[] {
  return model ? [model.manifest.version] : [];
}

/** The versions on disk, newest first (for the models API). */
export function versionsOnDisk(modelDir: string): number[] {
  return listVersions(modelDir);
}
