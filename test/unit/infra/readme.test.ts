// The README's configuration tables must be exactly what the settings say.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { projectRoot } from "../../../infra/local/config.ts";
import { configTable, documentedSettings } from "../../../infra/local/config-table.ts";

const readme = readFileSync(join(projectRoot, "README.md"), "utf8");

describe("README", () => {
  it.each(documentedSettings.map((d) => [d.title, d.settings] as const))("has the current %s table", (_, settings) => {
    expect(readme).toContain(configTable(settings));
  });

  it("gives the test command that .ci/run calls", () => {
    const ci = readFileSync(join(projectRoot, ".ci", "run"), "utf8");
    expect(readme).toMatch(/^npm test\b/m);
    expect(ci).toMatch(/^npm test$/m);
  });
});
