// The alerting rules' unit tests (infra/prometheus/rules/tests/*.test.yml) through `promtool test
// rules`, and a check that each alert has a case where it fires and one where it must stay quiet.
// promtool comes with Debian's prometheus package, which the local stack installs; CI runs on the
// local stack, so there these tests always run.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { projectRoot } from "../../infra/local/config.ts";
import { commandExists } from "../../infra/local/processes.ts";

const hasPromtool = commandExists("promtool");
const rulesDir = join(projectRoot, "infra", "prometheus", "rules");
const testsDir = join(rulesDir, "tests");
const testFiles = readdirSync(testsDir)
  .filter((f) => f.endsWith(".test.yml"))
  .sort();

interface RuleFile {
  groups: Array<{ name: string; rules: Array<{ alert?: string; labels?: Record<string, string> }> }>;
}
interface RuleTestFile {
  rule_files: string[];
  tests: Array<{
    name?: string;
    alert_rule_test?: Array<{ alertname: string; exp_alerts?: unknown[] | null }>;
  }>;
}

function promtoolTest(file: string, cwd = testsDir) {
  return spawnSync("promtool", ["test", "rules", file], { cwd, encoding: "utf8" });
}

const alerts = (parse(readFileSync(join(rulesDir, "streamscore.yml"), "utf8")) as RuleFile).groups.flatMap((g) =>
  g.rules.flatMap((r) => (r.alert ? [{ alert: r.alert, severity: r.labels?.severity }] : [])),
);
const cases = testFiles.flatMap((file) =>
  (parse(readFileSync(join(testsDir, file), "utf8")) as RuleTestFile).tests.flatMap((t) => t.alert_rule_test ?? []),
);

describe("alerting rules", () => {
  it("every alert has a severity and promtool cases where it fires and where it stays quiet", () => {
    expect(testFiles.length).toBeGreaterThan(0);
    const uncovered = alerts.flatMap(({ alert, severity }) => {
      const problems: string[] = [];
      if (severity !== "critical" && severity !== "warning") problems.push(`${alert}: severity ${severity}`);
      const own = cases.filter((c) => c.alertname === alert);
      if (!own.some((c) => (c.exp_alerts ?? []).length > 0)) problems.push(`${alert}: no case where it fires`);
      if (!own.some((c) => (c.exp_alerts ?? []).length === 0)) problems.push(`${alert}: no case where it is quiet`);
      return problems;
    });
    expect(uncovered).toEqual([]);
    // A case for an alert that is not in the rules would pass with empty expectations and prove nothing.
    const known = new Set(alerts.map((a) => a.alert));
    expect(cases.map((c) => c.alertname).filter((name) => !known.has(name))).toEqual([]);
  });
});

describe.skipIf(!hasPromtool)("promtool test rules (skipped only where promtool is missing; CI has it)", () => {
  const scratch = mkdtempSync(join(tmpdir(), "streamscore-rules-"));
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  it.each(testFiles)("%s passes", (file) => {
    const result = promtoolTest(file);
    expect(result.stdout + result.stderr).toMatch(/SUCCESS/);
    expect(result.status).toBe(0);
  });

  it("fails on a wrong expectation, so the cases above can fail", () => {
    // The service-down case of availability.test.yml with the wrong service expected to be down.
    const source = readFileSync(join(testsDir, "availability.test.yml"), "utf8");
    const wrong = source.replace("service: inference\n", "service: producer\n");
    expect(wrong).not.toBe(source);
    const file = join(scratch, "wrong.test.yml");
    writeFileSync(file, wrong.replace("../streamscore.yml", join(rulesDir, "streamscore.yml")));
    const result = promtoolTest(file, scratch);
    expect(result.status).not.toBe(0);
    expect(result.stdout + result.stderr).toMatch(/StreamscoreServiceDown/);
  });

  it("fails when an alert fires where a case expects quiet", () => {
    const file = join(scratch, "quiet.test.yml");
    writeFileSync(
      file,
      [
        "rule_files:",
        `  - ${join(rulesDir, "streamscore.yml")}`,
        "evaluation_interval: 15s",
        "tests:",
        "  - interval: 15s",
        "    input_series:",
        `      - series: 'up{job="streamscore", service="monitor", instance="127.0.0.1:8083"}'`,
        `        values: "0x20"`,
        "    alert_rule_test:",
        "      - eval_time: 4m",
        "        alertname: StreamscoreServiceDown",
        "        exp_alerts: []",
        "",
      ].join("\n"),
    );
    const result = promtoolTest(file, scratch);
    expect(result.status).not.toBe(0);
  });
});
