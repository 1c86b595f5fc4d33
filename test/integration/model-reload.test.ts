// A new model version is picked up mid-stream without a restart: every event is scored exactly
// once, by the old version before the swap and by the new one after it.
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { paymentEvents } from "../../services/producer/generator/payments.ts";
import { payments } from "../../services/shared/pipelines/payments.ts";
import { projectRoot } from "../../services/shared/project.ts";
import { waitFor } from "../helpers/integration.ts";
import { type PipelineHarness, startPipelineHarness } from "../helpers/pipeline-harness.ts";

describe("model version swap while streaming", () => {
  const modelsRoot = mkdtempSync(join(tmpdir(), "models-root-"));
  const modelDir = join(modelsRoot, payments.model.directory);
  let h: PipelineHarness;

  beforeAll(async () => {
    cpSync(join(projectRoot, payments.model.directory, "1"), join(modelDir, "1"), { recursive: true });
    h = await startPipelineHarness({ base: "payments", modelsRoot });
  });
  afterAll(async () => {
    await h?.stop();
  });

  it("scores every event exactly once across the swap, then with the new version", async () => {
    const events = paymentEvents(6000, 31, Date.now() - 3_600_000);
    const table = `${h.database}.predictions`;
    const where = `pipeline = '${h.definition.name}'`;
    const stored = async () => {
      const [row] = await h.clickhouse.query<{ n: string }>(`SELECT count() AS n FROM ${table} FINAL WHERE ${where}`);
      return Number(row?.n ?? 0);
    };
    for (let i = 0; i < 3000; i += 500) await h.client.publish(h.definition.name, events.slice(i, i + 500));
    await waitFor("the first half scored", async () => ((await stored()) >= 3000 ? true : undefined), 120_000);

    cpSync(join(modelDir, "1"), join(modelDir, "2"), { recursive: true });
    const manifestFile = join(modelDir, "2", "manifest.json");
    writeFileSync(manifestFile, JSON.stringify({ ...JSON.parse(readFileSync(manifestFile, "utf8")), version: 2 }));
    await h.inference?.refreshModels();
    expect(h.inference?.scorer(h.definition.name)?.store.current?.manifest.version).toBe(2);

    for (let i = 3000; i < 6000; i += 500) await h.client.publish(h.definition.name, events.slice(i, i + 500));
    await waitFor("every event scored", async () => ((await stored()) >= 6000 ? true : undefined), 120_000);

    const versions = await h.clickhouse.query<{ model_version: number; n: string }>(
      `SELECT model_version, count() AS n FROM ${table} WHERE ${where} GROUP BY model_version ORDER BY model_version`,
    );
    expect(versions.map((v) => [Number(v.model_version), Number(v.n)])).toEqual([
      [1, 3000],
      [2, 3000],
    ]);
  });
});
