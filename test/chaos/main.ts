// `npm run chaos -- [--scenario NAME] [--seed N] [--events N] [--gate] [--matrix]`: runs fault-injection
// scenarios against a broker and ClickHouse of their own, prints each report and writes it under
// load-tests/results/. Exit code 0 only when every run passed.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Command } from "commander";
import { loadStackConfig } from "../../infra/local/config.ts";
import { loadConnectionConfig } from "../../services/shared/connection-settings.ts";
import { createProgress } from "../../services/shared/progress.ts";
import { projectRoot } from "../../services/shared/project.ts";
import { chaosDir, formatRun, runChaos } from "./run.ts";
import { matrixScenarios, type Scenario, scenarios } from "./schedule.ts";

async function main(): Promise<void> {
  const program = new Command()
    .option("--scenario <name>", `one of: ${Object.keys(scenarios).join(", ")}`, "short")
    .option("--seed <n>", "seed of the events and the fault schedule", "1")
    .option("--events <n>", "events to send (default: the scenario's)")
    .option("--gate", "the release gate: the gate scenario with three seeds")
    .option("--matrix", `every single-fault scenario at full size, one after another: ${matrixScenarios.join(", ")}`)
    .option("--shared-registry", "use the shared schema registry (SCHEMA_REGISTRY_URL) instead of the run's own")
    .parse();
  const opts = program.opts<{
    scenario: string;
    seed: string;
    events?: string;
    gate?: boolean;
    matrix?: boolean;
    sharedRegistry?: boolean;
  }>();
  const names = opts.matrix ? matrixScenarios : [opts.gate ? "gate" : opts.scenario];
  const seed = Number(opts.seed);
  const runs: Array<{ scenario: Scenario; seed: number }> = names.flatMap((name) => {
    const scenario = scenarios[name];
    if (!scenario) throw new Error(`unknown scenario ${name} (known: ${Object.keys(scenarios).join(", ")})`);
    return (opts.gate ? [seed, seed + 1, seed + 2] : [seed]).map((s) => ({ scenario, seed: s }));
  });
  const results = join(projectRoot, "load-tests", "results");
  mkdirSync(results, { recursive: true });
  let failed = 0;
  const verdicts: string[] = [];
  // Runs take minutes each: the bar counts runs, with the one under way and the failures so far.
  const progress = createProgress({ label: "chaos", total: runs.length, unit: "runs", ratePer: "min" });
  for (const { scenario, seed: s } of runs) {
    progress.note(`${scenario.name} seed ${s}${failed > 0 ? `, ${failed} failed` : ""}`);
    try {
      const result = await runChaos({
        scenario,
        seed: s,
        events: opts.events ? Number(opts.events) : undefined,
        registryUrl: opts.sharedRegistry ? loadConnectionConfig().SCHEMA_REGISTRY_URL : undefined,
        dir: chaosDir(loadStackConfig().STACK_DIR, `${scenario.name}-${s}-${Date.now().toString(36)}`),
        log: (line) => progress.log(line),
      });
      const text = formatRun(result);
      progress.log(text);
      const file = join(results, `chaos-${scenario.name}-${s}-${new Date().toISOString().replace(/[:.]/g, "-")}`);
      writeFileSync(`${file}.md`, `\`\`\`\n${text}\n\`\`\`\n`);
      writeFileSync(`${file}.json`, `${JSON.stringify(result, null, 2)}\n`);
      progress.log(`report: ${file}.md`);
      if (!result.report.ok) failed += 1;
      verdicts.push(`${scenario.name} seed ${s}: ${result.report.ok ? "PASS" : "FAIL"}`);
    } catch (error) {
      // One run that could not finish (a server that would not start) does not stop the others.
      console.error(error);
      failed += 1;
      verdicts.push(`${scenario.name} seed ${s}: ERROR ${error instanceof Error ? error.message : String(error)}`);
    } finally {
      progress.add(1);
    }
  }
  progress.stop();
  if (runs.length > 1) console.log(verdicts.join("\n"));
  process.exitCode = failed === 0 ? 0 : 1;
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
