import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { loadTransformerConfig } from "../../../services/transformer/config.ts";

describe("transformer settings", () => {
  const dir = mkdtempSync(join(tmpdir(), "transformer-config-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("reads the personal-data key from its file, which wins over the variable", () => {
    const file = join(dir, "personal-data.key");
    writeFileSync(file, `${"f".repeat(40)}\n`);
    const config = loadTransformerConfig({ PERSONAL_DATA_KEY_FILE: file, PERSONAL_DATA_KEY: "e".repeat(40) });
    expect(config.PERSONAL_DATA_KEY).toBe("f".repeat(40));
    expect(loadTransformerConfig({}).PERSONAL_DATA_KEY).toBeUndefined();
  });

  it("refuses a short key without printing it", () => {
    const load = () => loadTransformerConfig({ PERSONAL_DATA_KEY: "short-s3cret" });
    expect(load).toThrow(/PERSONAL_DATA_KEY: must be at least 32 characters/);
    expect(load).not.toThrow(/short-s3cret/);
  });
});
