// Holds the model version in use for a pipeline and swaps in a newer one without a restart.
// Versions are numbered subfolders of the pipeline's model folder; the highest one that loads wins.
// A version that fails to load is skipped with an error, and the one in use stays; it is tried
// again once its files change (a corrupt file replaced in place).
import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { describeError } from "../shared/errors.ts";
import type { Logger } from "../shared/logger.ts";
import { type LoadedModel, loadModel } from "./model.ts";

export interface ModelStore {
  readonly current: LoadedModel | undefined;
  /** Why there is no model, when there is none. */
  readonly problem: string | undefined;
  /** Loads the newest version if it is newer than the one in use; returns the version in use. */
  refresh(): Promise<number | undefined>;
  close(): Promise<void>;
}

export function listVersions(modelDir: string): number[] {
  if (!existsSync(modelDir)) return [];
  return readdirSync(modelDir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && /^\d+$/.test(entry.name))
    .map((entry) => Number(entry.name))
    .sort((a, b) => b - a);
}

/** Names, sizes and modification times of a version's files: changes when any file is replaced. */
function filesSignature(versionDir: string): string {
  try {
    return readdirSync(versionDir)
      .map((name) => {
        const stat = statSync(join(versionDir, name));
        return `${name}:${stat.size}:${stat.mtimeMs}`;
      })
      .sort()
      .join("|");
  } catch {
    return "";
  }
}

export function createModelStore(modelDir: string, logger: Logger, options: { threads?: number } = {}): ModelStore {
  let current: LoadedModel | undefined;
  let problem: string | undefined = "no model loaded yet";
  /** Versions that failed to load, with the signature of their files at the time. */
  const failed = new Map<number, string>();
  let refreshing: Promise<number | undefined> | undefined;

  async function refresh(): Promise<number | undefined> {
    const inUse = current?.manifest.version ?? 0;
    for (const version of listVersions(modelDir)) {
      if (version <= inUse) break;
      const versionDir = join(modelDir, String(version));
      const signature = filesSignature(versionDir);
      if (failed.get(version) === signature) continue;
      try {
        const next = await loadModel(versionDir, options);
        if (next.manifest.version !== version) {
          await next.release();
          throw new Error(`folder ${version} holds a manifest of version ${next.manifest.version}`);
        }
        const previous = current;
        current = next;
        problem = undefined;
        logger.info(
          { model: next.manifest.name, version, previous: previous?.manifest.version },
          "model version loaded",
        );
        // Batches hold their own reference to the model they started with; release the old one later.
        if (previous) setTimeout(() => void previous.release(), 30_000).unref();
        break;
      } catch (error) {
        failed.set(version, signature);
        logger.error({ version, error: describeError(error) }, "model version failed to load; keeping the one in use");
        if (!current) problem = `model version ${version} failed to load: ${describeError(error)}`;
      }
    }
    if (!current && listVersions(modelDir).length === 0) problem = `no model versions under ${modelDir}`;
    return current?.manifest.version;
  }

  return {
    get current() {
      return current;
    },
    get problem() {
      return problem;
    },
    refresh() {
      refreshing ??= refresh().finally(() => {
        refreshing = undefined;
      });
      return refreshing;
    },
    async close() {
      await current?.release();
    },
  };
}
