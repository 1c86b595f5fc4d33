// Model versions on disk: the newest good one is used, a corrupt one is refused and the one in
// use stays, and with no good version at all there is no model (so nothing is consumed).
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { createModelStore, type ModelStore } from "../../../services/inference/model-store.ts";
import { createLogger } from "../../../services/shared/logger.ts";
import { iris } from "../../../services/shared/pipelines/iris.ts";
import { projectRoot } from "../../../services/shared/project.ts";

const logger = createLogger({ name: "test", level: "silent" });
const shipped = join(projectRoot, iris.model.directory, "1");

function copyVersion(dir: string, version: number): string {
  const target = join(dir, String(version));
  cpSync(shipped, target, { recursive: true });
  const manifestFile = join(target, "manifest.json");
  const manifest = JSON.parse(readFileSync(manifestFile, "utf8")) as { version: number };
  manifest.version = version;
  writeFileSync(manifestFile, JSON.stringify(manifest));
  return target;
}

function corrupt(versionDir: string): void {
  const file = join(versionDir, "model.onnx");
  const bytes = readFileSync(file);
  bytes[bytes.length - 10] = (bytes[bytes.length - 10] ?? 0) ^ 0xff;
  writeFileSync(file, bytes);
}

describe("model store", () => {
  let store: ModelStore | undefined;
  afterEach(async () => {
    await store?.close();
  });

  it("swaps in a newer version and refuses a corrupt one, keeping the one in use", async () => {
    const dir = mkdtempSync(join(tmpdir(), "models-"));
    copyVersion(dir, 1);
    store = createModelStore(dir, logger);
    expect(await store.refresh()).toBe(1);

    corrupt(copyVersion(dir, 2));
    expect(await store.refresh()).toBe(1);
    expect(store.problem).toBeUndefined();

    copyVersion(dir, 3);
    expect(await store.refresh()).toBe(3);
    expect(store.current?.manifest.version).toBe(3);
  });

  it("has no model, and says why, when the only version is corrupt", async () => {
    const dir = mkdtempSync(join(tmpdir(), "models-"));
    corrupt(copyVersion(dir, 1));
    store = createModelStore(dir, logger);
    expect(await store.refresh()).toBeUndefined();
    expect(store.current).toBeUndefined();
    expect(store.problem).toMatch(/does not match the manifest's sha256/);
  });

  it("tries a failed version again once its files are replaced, not before", async () => {
    const dir = mkdtempSync(join(tmpdir(), "models-"));
    const version = copyVersion(dir, 1);
    const good = readFileSync(join(version, "model.onnx"));
    corrupt(version);
    store = createModelStore(dir, logger);
    expect(await store.refresh()).toBeUndefined();
    expect(await store.refresh()).toBeUndefined();
    expect(store.problem).toMatch(/model version 1 failed to load/);
    writeFileSync(join(version, "model.onnx"), good);
    expect(await store.refresh()).toBe(1);
    expect(store.problem).toBeUndefined();
  });

  it("refuses a folder whose manifest names another version", async () => {
    const dir = mkdtempSync(join(tmpdir(), "models-"));
    cpSync(shipped, join(dir, "5"), { recursive: true });
    store = createModelStore(dir, logger);
    expect(await store.refresh()).toBeUndefined();
    expect(store.problem).toMatch(/folder 5 holds a manifest of version 1/);
  });
});
