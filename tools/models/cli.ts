// `npm run models -- <command> --pipeline <p>`: the model registry from the command line, acting as
// the local operator (the audit trail records the OS user). Every change needs `--reason`.
//   list | show <v> | register <dir> | shadow <v> | canary <v> --weight <pct> | promote <v> |
//   rollback | retire <v> | reject <v> | card <v> [--html] [--out <file>]
import { cpSync, existsSync, mkdirSync, writeFileSync } from "node:fs";
import { userInfo } from "node:os";
import { join, resolve } from "node:path";
import { Command, InvalidArgumentError } from "commander";
import { loadModel } from "../../services/inference/model.ts";
import { readModelVersion } from "../../services/inference/model-file.ts";
import { createClickHouse } from "../../services/shared/clickhouse/client.ts";
import { loadConnectionConfig } from "../../services/shared/connection-settings.ts";
import { describeError, isStreamscoreError } from "../../services/shared/errors.ts";
import { createKafka } from "../../services/shared/kafka/client.ts";
import { createModelLogWriter, readModelEvents } from "../../services/shared/kafka/model-log.ts";
import { createSchemaRegistry } from "../../services/shared/kafka/registry.ts";
import { createLogger } from "../../services/shared/logger.ts";
import { type ChangeRequest, foldEvents, type ModelAction } from "../../services/shared/model/lifecycle.ts";
import { readManifest } from "../../services/shared/model/manifest.ts";
import { setUpPipeline } from "../../services/shared/pipeline/setup.ts";
import { getPipeline } from "../../services/shared/pipelines/index.ts";
import { projectRoot } from "../../services/shared/project.ts";
import { type LiveFigures, renderHtml, renderMarkdown } from "./card.ts";

const config = loadConnectionConfig();
// Failures reach the operator as the command's own message; the clients' retries would only add noise.
const logger = createLogger({ name: "models-cli", level: "fatal" });
const actor = `${userInfo().username} (cli)`;

function versionNumber(value: string): number {
  if (!/^[1-9]\d{0,8}$/.test(value)) throw new InvalidArgumentError("a version is a positive whole number");
  return Number(value);
}

function weightPercent(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0 || n >= 100) throw new InvalidArgumentError("a percentage above 0 and below 100");
  return n;
}

function context(pipeline: string) {
  const definition = getPipeline(pipeline);
  const kafka = createKafka(config, logger, "models-cli");
  const modelDir = join(config.MODELS_ROOT ?? projectRoot, definition.model.directory);
  return { definition, kafka, modelDir };
}

/** The pipeline's topics, the model log among them, exist before the CLI reads or writes it. */
async function prepared(pipeline: string) {
  const ctx = context(pipeline);
  await setUpPipeline(ctx.kafka, createSchemaRegistry(config), ctx.definition);
  return ctx;
}

async function registry(pipeline: string) {
  const { kafka, definition } = await prepared(pipeline);
  const events = await readModelEvents(kafka, definition.name);
  return { events, deployment: foldEvents(definition.name, events) };
}

async function applyChange(pipeline: string, request: Omit<ChangeRequest, "actor">): Promise<void> {
  const { kafka, definition } = await prepared(pipeline);
  try {
    const { events } = await createModelLogWriter(kafka, definition.name, logger).change({ ...request, actor });
    for (const e of events) console.log(`${e.kind}: version ${e.version} ${e.fromState ?? "-"} → ${e.toState}`);
  } catch (error) {
    if (
      isStreamscoreError(error) &&
      (error.code === "MODEL_CHANGE_REFUSED" || error.code === "MODEL_CHANGE_CONFLICT")
    ) {
      console.error(`refused (${error.code}): ${error.message}`);
      process.exitCode = 2;
      return;
    }
    throw error;
  }
}

/** Copies a version folder under the model root (where every inference instance loads it from). */
async function register(pipeline: string, dir: string, reason: string): Promise<void> {
  const { modelDir } = context(pipeline);
  const source = resolve(dir);
  const manifest = readManifest(source);
  // A pipeline run under another name (`name=definition`) takes the definition's models.
  const base = (pipeline.split("=", 2)[1] ?? pipeline).trim();
  if (manifest.pipeline !== getPipeline(pipeline).name && manifest.pipeline !== base) {
    throw new InvalidArgumentError(`the manifest is for pipeline ${manifest.pipeline}, not ${pipeline}`);
  }
  readModelVersion(source);
  // The same checks serving makes: onnxruntime loads it, the outputs exist, a warm-up run scores.
  const model = await loadModel(source);
  await model.release();
  const target = join(modelDir, String(manifest.version));
  if (resolve(target) !== source) {
    if (existsSync(target)) {
      throw new InvalidArgumentError(`${target} exists already: a version number is never reused for other files`);
    }
    mkdirSync(modelDir, { recursive: true });
    cpSync(source, target, { recursive: true });
    console.log(`copied ${source} → ${target}`);
  }
  await applyChange(pipeline, { action: "register", version: manifest.version, reason, evidence: { manifest } });
}

async function liveFigures(pipeline: string, version: number, since: number): Promise<LiveFigures> {
  const clickhouse = createClickHouse(config, config.CLICKHOUSE_DATABASE);
  const db = config.CLICKHOUSE_DATABASE;
  // The pipeline is a known definition's name (getPipeline checked it) and the version a number.
  const filter = `pipeline = '${getPipeline(pipeline).name}' AND model_version = ${version} AND window_start >= toDateTime(${Math.floor(since / 1000)})`;
  try {
    const quality = await clickhouse.query<{ metric: string; value: number; windows: string; labelled: string }>(
      `SELECT metric, avg(value) AS value, count() AS windows, sum(labelled) AS labelled
       FROM ${db}.model_quality FINAL WHERE ${filter} GROUP BY metric ORDER BY metric`,
    );
    const drift = await clickhouse.query<{ feature: string; drifted: string; windows: string }>(
      `SELECT feature, sum(drifted) AS drifted, count() AS windows
       FROM ${db}.drift_metrics FINAL WHERE ${filter} AND statistic LIKE 'drift:%' GROUP BY feature ORDER BY feature`,
    );
    return {
      quality: quality.map((q) => ({
        ...q,
        value: Number(q.value),
        windows: Number(q.windows),
        labelled: Number(q.labelled),
      })),
      drift: drift.map((d) => ({ feature: d.feature, drifted: Number(d.drifted), windows: Number(d.windows) })),
    };
  } catch (error) {
    return { quality: [], drift: [], unavailable: `ClickHouse did not answer: ${describeError(error)}` };
  } finally {
    await clickhouse.close();
  }
}

async function card(pipeline: string, version: number, options: { html?: boolean; out?: string }): Promise<void> {
  const { modelDir } = context(pipeline);
  const { events, deployment } = await registry(pipeline);
  const manifest = readManifest(join(modelDir, String(version)));
  const history = events.filter((e) => e.version === version);
  const deployedAt = history.find(
    (e) => e.toState === "champion" || e.toState === "canary" || e.toState === "shadow",
  )?.at;
  const live = await liveFigures(pipeline, version, deployedAt ?? Date.parse(manifest.createdAt));
  const input = { pipeline, manifest, entry: deployment.versions.get(version), history, live };
  const text = options.html ? renderHtml(input) : renderMarkdown(input);
  if (options.out) {
    writeFileSync(options.out, text);
    console.log(`wrote ${options.out}`);
  } else process.stdout.write(text);
}

const program = new Command("models").description("The model registry: versions, roles, audit trail, model cards.");
const pipelineOption = ["--pipeline <name>", "pipeline whose models to act on", "payments"] as const;

program
  .command("list")
  .option(...pipelineOption)
  .action(async (o: { pipeline: string }) => {
    const { deployment } = await registry(o.pipeline);
    if (deployment.versions.size === 0) {
      console.log(`${o.pipeline}: nothing registered; inference serves the newest version folder that loads`);
      return;
    }
    for (const v of [...deployment.versions.values()].sort((a, b) => b.version - a.version)) {
      const weight = v.weight === undefined ? "" : ` ${v.weight}%`;
      console.log(
        `v${v.version}\t${v.state}${weight}\t${new Date(v.changedAt).toISOString()}\t${v.changedBy}\t${v.reason}`,
      );
    }
  });

program
  .command("show <version>")
  .option(...pipelineOption)
  .action(async (version: string, o: { pipeline: string }) => {
    const v = versionNumber(version);
    const { events, deployment } = await registry(o.pipeline);
    console.log(
      JSON.stringify(
        { entry: deployment.versions.get(v) ?? null, history: events.filter((e) => e.version === v) },
        null,
        2,
      ),
    );
  });

program
  .command("register <dir>")
  .description(
    "checks a version folder (manifest, checksum, a warm-up run), copies it under the model root, registers it",
  )
  .option(...pipelineOption)
  .requiredOption("--reason <text>", "why (recorded in the audit trail)")
  .action((dir: string, o: { pipeline: string; reason: string }) => register(o.pipeline, dir, o.reason));

for (const action of ["shadow", "promote", "retire", "reject"] as const satisfies readonly ModelAction[]) {
  program
    .command(`${action} <version>`)
    .option(...pipelineOption)
    .requiredOption("--reason <text>", "why (recorded in the audit trail)")
    .action((version: string, o: { pipeline: string; reason: string }) =>
      applyChange(o.pipeline, { action, version: versionNumber(version), reason: o.reason }),
    );
}

program
  .command("canary <version>")
  .option(...pipelineOption)
  .requiredOption("--weight <percent>", "share of entities the canary decides for", weightPercent)
  .requiredOption("--reason <text>", "why (recorded in the audit trail)")
  .action((version: string, o: { pipeline: string; weight: number; reason: string }) =>
    applyChange(o.pipeline, { action: "canary", version: versionNumber(version), weight: o.weight, reason: o.reason }),
  );

program
  .command("rollback")
  .description("retires the champion and restores the previous one")
  .option(...pipelineOption)
  .requiredOption("--reason <text>", "why (recorded in the audit trail)")
  .action((o: { pipeline: string; reason: string }) =>
    applyChange(o.pipeline, { action: "rollback", reason: o.reason }),
  );

program
  .command("card <version>")
  .description("a model card: intended use, training data, holdout and live metrics, limitations, history")
  .option(...pipelineOption)
  .option("--html", "HTML instead of Markdown")
  .option("--out <file>", "write to a file instead of the terminal")
  .action((version: string, o: { pipeline: string; html?: boolean; out?: string }) =>
    card(o.pipeline, versionNumber(version), o),
  );

program
  .parseAsync()
  .then(() => process.exit(process.exitCode ?? 0))
  .catch((error: unknown) => {
    console.error(`models: ${describeError(error)}`);
    process.exit(1);
  });
