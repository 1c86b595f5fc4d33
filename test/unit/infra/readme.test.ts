// The README's configuration tables must be exactly what the settings say.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { projectRoot } from "../../../infra/local/config.ts";
import { configTable, documentedSettings } from "../../../tools/config-table.ts";

/** Markdown tables compared cell by cell: the formatter may pad columns. */
function normalizeTables(markdown: string): string {
  return markdown.replace(/[ \t]*\|[ \t]*/g, "|").replace(/\|:?-{3,}:?(?=\|)/g, "|---");
}

const readme = normalizeTables(readFileSync(join(projectRoot, "README.md"), "utf8"));

describe("README", () => {
  it.each(documentedSettings.map((d) => [d.title, d.settings] as const))("has the current %s table", (_, settings) => {
    expect(readme).toContain(normalizeTables(configTable(settings)));
  });

  it("gives the test command that .ci/run calls", () => {
    const ci = readFileSync(join(projectRoot, ".ci", "run"), "utf8");
    expect(readme).toMatch(/^npm test\b/m);
    expect(ci).toMatch(/^npm test$/m);
  });
});
