import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { createTrainerRunner, parseCommand } from "../../../services/monitor/trainer-runner.ts";
import { waitUntil } from "../../../services/shared/wait.ts";

// Real child processes (small scripts standing in for the trainer): what the runner passes, how it
// reports a finished or refused run, and that it never runs two trainers for one pipeline.
const dir = mkdtempSync(join(tmpdir(), "trainer-runner-"));
const script = (name: string, body: string) => {
  const file = join(dir, name);
  writeFileSync(file, body);
  return [process.execPath, file];
};
const reporting = script(
  "report.mjs",
  `console.log("training..."); console.log(JSON.stringify({ args: process.argv.slice(2), decision: "shadow" }));`,
);
const refusing = script("refuse.mjs", `console.error("no registered champion for payments"); process.exit(2);`);
const waiting = script("wait.mjs", "setInterval(() => {}, 1000);");

function runnerWith(command: string[], pipelineArgument?: (pipeline: string) => string) {
  const logs: Array<Record<string, unknown>> = [];
  const logger = pino({ level: "info" }, { write: (line: string) => logs.push(JSON.parse(line)) });
  return { runner: createTrainerRunner({ command, cwd: dir, logger, pipelineArgument }), logs };
}

describe("trainer runner", () => {
  it("splits a command on white space, without a shell", () => {
    expect(parseCommand("  node tools/models/retrain.ts   --hours 6 ")).toEqual([
      "node",
      "tools/models/retrain.ts",
      "--hours",
      "6",
    ]);
  });

  it("starts the trainer with the pipeline and --json, and logs its report", async () => {
    const { runner, logs } = runnerWith(reporting);
    expect(runner.request("payments", "drift on 2 features")).toBe(true);
    const done = await waitUntil("the trainer's report", () => logs.find((l) => l.msg === "trainer finished"), 10_000);
    expect(done.report).toEqual({ args: ["--pipeline", "payments", "--json"], decision: "shadow" });
    expect(runner.running("payments")).toBe(false);
  });

  it("names a renamed pipeline by its entry, so the trainer finds its definition", async () => {
    const { runner, logs } = runnerWith(reporting, (name) => (name === "shop" ? "shop=payments" : name));
    runner.request("shop", "drift");
    const done = await waitUntil("the trainer's report", () => logs.find((l) => l.msg === "trainer finished"), 10_000);
    expect(done.report).toMatchObject({ args: ["--pipeline", "shop=payments", "--json"] });
  });

  it("logs a refusal with the trainer's own message", async () => {
    const { runner, logs } = runnerWith(refusing);
    runner.request("payments", "quality");
    const refused = await waitUntil(
      "the refusal",
      () => logs.find((l) => l.msg === "trainer refused or failed"),
      10_000,
    );
    expect(refused.code).toBe(2);
    expect(refused.stderr).toBe("no registered champion for payments");
  });

  it("runs one trainer at a time per pipeline, and stops it on shutdown", async () => {
    const { runner, logs } = runnerWith(waiting);
    expect(runner.request("payments", "first")).toBe(true);
    expect(runner.request("payments", "second")).toBe(false);
    expect(runner.request("iris", "other pipeline")).toBe(true);
    expect(logs.some((l) => l.msg === "a trainer already runs for this pipeline; this request adds nothing")).toBe(
      true,
    );
    await runner.stop(2000);
    expect(runner.running("payments")).toBe(false);
    expect(runner.running("iris")).toBe(false);
    expect(logs.filter((l) => l.msg === "trainer refused or failed").map((l) => l.signal)).toEqual([
      "SIGTERM",
      "SIGTERM",
    ]);
  });
});
