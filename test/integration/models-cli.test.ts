// `npm run models` on the real broker and ClickHouse: a version folder is checked, copied under the
// model root and registered; changes need a reason, illegal ones are refused with exit code 2 and
// the reason; the registry lists what happened with the OS user as the actor; a model card renders.
import { cpSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { createKafka } from "../../services/shared/kafka/client.ts";
import { readModelEvents } from "../../services/shared/kafka/model-log.ts";
import { createLogger } from "../../services/shared/logger.ts";
import { payments } from "../../services/shared/pipelines/payments.ts";
import { projectRoot } from "../../services/shared/project.ts";
import { testConnectionConfig, uniqueName } from "../helpers/integration.ts";
import { runScript, type ScriptRun } from "../helpers/run-script.ts";

const connection = testConnectionConfig();
const pipeline = uniqueName("t-cli").replace(/_/g, "-").toLowerCase();
const modelsRoot = mkdtempSync(join(tmpdir(), "models-cli-"));

function models(args: string[]): Promise<ScriptRun> {
  return runScript("tools/models/cli.ts", args, {
    KAFKA_BROKERS: connection.KAFKA_BROKERS.join(","),
    SCHEMA_REGISTRY_URL: connection.SCHEMA_REGISTRY_URL,
    CLICKHOUSE_URL: connection.CLICKHOUSE_URL,
    MODELS_ROOT: modelsRoot,
  });
}

describe("npm run models", () => {
  it("registers a checked version folder, refuses illegal changes with their reason, and renders a card", async () => {
    const p = ["--pipeline", `${pipeline}=payments`];
    // A candidate outside the model root, as a trainer would leave it.
    const candidate = join(mkdtempSync(join(tmpdir(), "candidate-")), "v2");
    cpSync(join(projectRoot, payments.model.directory, "1"), candidate, { recursive: true });
    const manifestFile = join(candidate, "manifest.json");
    writeFileSync(manifestFile, JSON.stringify({ ...JSON.parse(readFileSync(manifestFile, "utf8")), version: 2 }));

    const noReason = await models(["register", candidate, ...p]);
    expect(noReason.code).not.toBe(0);
    expect(noReason.err).toContain("--reason");

    const registered = await models(["register", candidate, ...p, "--reason", "retrained"]);
    expect(registered.err).not.toContain("models:");
    expect(registered.code).toBe(0);
    expect(registered.out).toContain("register: version 2 - → registered");
    expect(existsSync(join(modelsRoot, payments.model.directory, "2", "model.onnx"))).toBe(true);

    // A corrupt folder is refused before anything is written.
    const corrupt = join(mkdtempSync(join(tmpdir(), "corrupt-")), "v3");
    cpSync(candidate, corrupt, { recursive: true });
    writeFileSync(
      corrupt.concat("/manifest.json"),
      JSON.stringify({ ...JSON.parse(readFileSync(manifestFile, "utf8")), version: 3 }),
    );
    writeFileSync(join(corrupt, "model.onnx"), Buffer.from("not a model"));
    const refusedFiles = await models(["register", corrupt, ...p, "--reason", "broken"]);
    expect(refusedFiles.code).toBe(1);
    expect(refusedFiles.err).toContain("does not match the manifest's sha256");

    const illegal = await models(["canary", "2", "--weight", "10", ...p, "--reason", "no champion yet"]);
    expect(illegal.code).toBe(2);
    expect(illegal.err).toContain("refused (MODEL_CHANGE_REFUSED): a canary needs a champion");
    const badWeight = await models(["canary", "2", "--weight", "150", ...p, "--reason", "x"]);
    expect(badWeight.code).not.toBe(0);
    expect(badWeight.err).toContain("a percentage above 0 and below 100");

    expect((await models(["promote", "2", ...p, "--reason", "beats v1"])).code).toBe(0);
    const listed = await models(["list", ...p]);
    expect(listed.out).toMatch(/^v2\tchampion\t\S+\t\S+ \(cli\)\tbeats v1$/m);

    const cardFile = join(modelsRoot, "card.html");
    expect((await models(["card", "2", ...p, "--html", "--out", cardFile])).code).toBe(0);
    const card = readFileSync(cardFile, "utf8");
    expect(card).toContain("<h1>Model card: payments-fraud v2");
    expect(card).toContain("<strong>champion</strong>");

    // The log holds every change and the refusal, in order, each with the operator and the reason.
    const kafka = createKafka(connection, createLogger({ name: "test", level: "silent" }), pipeline);
    const events = await readModelEvents(kafka, pipeline);
    expect(events.map((e) => [e.kind, e.version, e.reason])).toEqual([
      ["register", 2, "retrained"],
      ["refused", 2, "no champion yet"],
      ["promote", 2, "beats v1"],
    ]);
    expect(events.every((e) => e.actor.endsWith("(cli)"))).toBe(true);
  }, 120_000);
});
