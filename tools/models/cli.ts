// `npm run models -- <command> --pipeline <p>`: the model registry from the command line, acting as
// the local operator (the audit trail records the OS user). Every change needs `--reason`.
//   list | show <v> | register <dir> | shadow <v> | canary <v> --weight <pct> | promote <v> |
//   rollback | retire <v> | reject <v> | card <v> [--html] [--out <file>] |
//   retrain [--since <t>] [--until <t>] [--hours <n>] [--min-rows <n>] (retrain.ts)
import { writeFileSync } from "node:fs";
import { userInfo } from "node:os";
import { join } from "node:path";
import { Command, InvalidArgumentError } from "commander";
import { createClickHouse } from "../../services/shared/clickhouse/client.ts";
import { loadConnectionConfig } from "../../services/shared/connection-settings.ts";
import { describeError, isStreamscoreError } from "../../services/shared/errors.ts";
import { createLogger } from "../../services/shared/logger.ts";
import type { ChangeRequest, ModelAction } from "../../services/shared/model/lifecycle.ts";
import { readManifest } from "../../services/shared/model/manifest.ts";
import { getPipeline } from "../../services/shared/pipelines/index.ts";
import { projectRoot } from "../../services/shared/project.ts";
import { trainingPython } from "../training/training-venv.ts";
import { type LiveFigures, renderHtml, renderMarkdown } from "./card.ts";
import { createRegistryActions } from "./registry-actions.ts";
import { describeReport, runRetrain } from "./retrain.ts";
import { parseWindow } from "./retrain-plan.ts";

const config = loadConnectionConfig();
// Failures reach the operator as the command's own message; the clients' retries would only add noise.
const logger = createLogger({ name: "models-cli", level: "fatal" });
const actor = `${userInfo().username} (cli)`;
const actions = createRegistryActions({ config, logger, actor, print: (line) => console.log(line) });
const { context, registry } = actions;

function versionNumber(value: string): number {
  if (!/^[1-9]\d{0,8}$/.test(value)) throw new InvalidArgumentError("a version is a positive whole number");
  return Number(value);
}

function weightPercent(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0 || n >= 100) throw new InvalidArgumentError("a percentage above 0 and below 100");
  return n;
}

function positiveWhole(value: string): number {
  if (!/^[1-9]\d{0,8}$/.test(value)) throw new InvalidArgumentError("a positive whole number");
  return Number(value);
}

function share(value: string): number {
  const n = Number(value);
  if (value.trim() === "" || !Number.isFinite(n) || n <= 0 || n >= 1) {
    throw new InvalidArgumentError("a share above 0 and below 1");
  }
  return n;
}

/**
 * A refused or conflicting change is the operator's answer (exit code 2), not a failure of the tool;
 * so is a retrain refused for its input (REQUEST_INVALID: too few rows, a bad window, a held lock).
 */
async function refusalsAsExitCode(run: () => Promise<unknown>, codes: readonly string[] = []): Promise<void> {
  try {
    await run();
  } catch (error) {
    if (
      isStreamscoreError(error) &&
      (error.code === "MODEL_CHANGE_REFUSED" || error.code === "MODEL_CHANGE_CONFLICT" || codes.includes(error.code))
    ) {
      console.error(`refused (${error.code}): ${error.message}`);
      process.exitCode = 2;
      return;
    }
    throw error;
  }
}

function applyChange(pipeline: string, request: Omit<ChangeRequest, "actor">): Promise<void> {
  return refusalsAsExitCode(() => actions.change(pipeline, request));
}

function register(pipeline: string, dir: string, reason: string): Promise<void> {
  return refusalsAsExitCode(() => actions.register(pipeline, dir, reason));
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

interface RetrainFlags {
  pipeline: string;
  since?: string;
  until?: string;
  hours?: string;
  minRows: number;
  holdoutShare: number;
  workDir?: string;
  json?: boolean;
}

async function retrain(o: RetrainFlags): Promise<void> {
  const window = parseWindow(o, Date.now());
  const clickhouse = createClickHouse(config, config.CLICKHOUSE_DATABASE);
  try {
    const report = await runRetrain(
      {
        actions,
        clickhouse,
        database: config.CLICKHOUSE_DATABASE,
        modelsRoot: config.MODELS_ROOT ?? projectRoot,
        python: trainingPython,
        print: (line) => console.log(line),
      },
      { pipeline: o.pipeline, window, minRows: o.minRows, holdoutShare: o.holdoutShare, workDir: o.workDir },
    );
    for (const line of describeReport(report)) console.log(line);
    if (o.json) console.log(JSON.stringify(report));
  } finally {
    await clickhouse.close();
  }
}

program
  .command("retrain")
  .description(
    "trains a candidate on the labelled events of a window, measures it and the champion on the same holdout, and registers it: shadow if it passes the retraining policy's gate, rejected if not",
  )
  .option(...pipelineOption)
  .option("--since <time>", "first event time to train on (ISO 8601, e.g. 2026-12-07T10:00Z)")
  .option("--until <time>", "event time to stop before (ISO 8601; default now)")
  .option("--hours <n>", "window length when --since or --until is missing (default 24)")
  .option("--min-rows <n>", "refuse with fewer usable labelled events", positiveWhole, 1000)
  .option("--holdout-share <share>", "share of events held out (by a hash of the event id)", share, 0.2)
  .option("--work-dir <dir>", "where the exported rows and the candidate go before registering (kept)")
  .option("--json", "also print the report as one JSON line")
  .action((o: RetrainFlags) => refusalsAsExitCode(() => retrain(o), ["REQUEST_INVALID"]));

program
  .parseAsync()
  .then(() => process.exit(process.exitCode ?? 0))
  .catch((error: unknown) => {
    console.error(`models: ${describeError(error)}`);
    process.exit(1);
  });
