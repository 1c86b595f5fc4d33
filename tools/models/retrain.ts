// The trainer job behind `npm run models -- retrain --pipeline <p>`: exports the labelled events of
// a window from ClickHouse, splits them by event id, trains a candidate with train.py (the same
// fit, export and checks as the shipped model) into the next free version, scores the champion and
// the candidate on the same holdout through the inference service's model adapter (onnxruntime-node,
// the runtime that serves them), runs the policy's validation gate, and registers the candidate
// through the CLI's own register: passing it goes to shadow, failing it is rejected, each with the
// numbers as evidence. One trainer per model folder at a time (a lock file beside the versions).
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { type LoadedModel, loadModel } from "../../services/inference/model.ts";
import { listVersions } from "../../services/inference/model-store.ts";
import type { ClickHouse } from "../../services/shared/clickhouse/client.ts";
import { describeError, StreamscoreError } from "../../services/shared/errors.ts";
import { type GateResult, validateCandidate } from "../../services/shared/model/retraining.ts";
import { featureNames } from "../../services/shared/pipeline/definition.ts";
import { runTrainer } from "../training/training-venv.ts";
import type { RegistryActions } from "./registry-actions.ts";
import { acquireLock } from "./retrain-lock.ts";
import {
  classCounts,
  comparableSegments,
  type ExportedRow,
  holdoutMetrics,
  type LabelledRow,
  nextVersion,
  prepareRows,
  segmentsOf,
  splitByEventId,
  type TimeWindow,
  toCsv,
} from "./retrain-plan.ts";

export interface RetrainOptions {
  /** A pipeline name, or `name=definition` for a definition run under another name. */
  pipeline: string;
  window: TimeWindow;
  /** Fewer usable labelled rows than this and nothing is trained. */
  minRows: number;
  holdoutShare: number;
  /** Where the exported CSVs and the candidate are written before it is registered (kept afterwards). */
  workDir?: string;
}

export interface RetrainDeps {
  actions: RegistryActions;
  clickhouse: ClickHouse;
  database: string;
  /** Folder the model directories are relative to (MODELS_ROOT, or the project root). */
  modelsRoot: string;
  /** The training venv's python (trainingPython()). */
  python: () => Promise<string>;
  print: (line: string) => void;
  /** Wall clock for timestamps (createdAt, the default window); durations use performance.now. */
  now?: () => number;
}

export interface ModelFigures {
  version: number;
  overall: Record<string, number>;
  segments: Record<string, Record<string, number>>;
}

export interface RetrainReport {
  pipeline: string;
  version: number;
  window: { since: string; until: string };
  eventTime: { first: string; last: string };
  rows: {
    exported: number;
    usable: number;
    train: number;
    holdout: number;
    skipped: { missingFeature: number; unknownLabel: number };
  };
  trainingDataSha256: { train: string; holdout: string };
  metric: string;
  champion: ModelFigures;
  candidate: ModelFigures;
  gate: GateResult;
  /** Segments with too few events of a class in the holdout to compare (see minSegmentClassRows). */
  segmentsNotCompared: Array<{ name: string; classCounts: number[] }>;
  decision: "shadow" | "rejected";
  /** training: train.py's wall time (interpreter start included); fit: its own time to fit, export and check. */
  seconds: { export: number; training: number; fit: number; scoring: number; toRegistered: number; total: number };
  candidateDir: string;
  workDir: string;
}

function refuse(message: string): never {
  throw new StreamscoreError("REQUEST_INVALID", message);
}

const iso = (ms: number) => new Date(ms).toISOString();
// The values pasted into SQL text: ClickHouse 18.16 has no query parameters (see monitor/queries.ts).
const sqlName = /^[A-Za-z_][A-Za-z0-9_]*$/;
const pipelineName = /^[a-z][a-z0-9-]*$/;

/** Labelled predictions of the window, one per event (FINAL on both tables counts replays once). */
export function exportQuery(database: string, pipeline: string, window: TimeWindow): string {
  if (!sqlName.test(database)) refuse(`database "${database}" is not a name`);
  if (!pipelineName.test(pipeline)) refuse(`pipeline "${pipeline}" is not a pipeline name`);
  return `SELECT event_id, event_time_ms, feature_names, feature_values, actual
FROM
(
    SELECT event_id, event_time_ms, feature_names, feature_values
    FROM ${database}.predictions FINAL
    WHERE pipeline = '${pipeline}' AND event_time_ms >= ${window.since} AND event_time_ms < ${window.until}
)
ANY INNER JOIN
(
    SELECT event_id, label AS actual FROM ${database}.labels FINAL WHERE pipeline = '${pipeline}'
) USING event_id
ORDER BY event_time_ms, event_id`;
}

/** A model's view of the rows: its own feature order picked by name from the definition's. */
function matrixFor(model: LoadedModel, order: readonly string[], rows: readonly LabelledRow[]): Float32Array {
  const columns = model.manifest.featureOrder.map((name) => {
    const i = order.indexOf(name);
    if (i < 0) {
      refuse(`version ${model.manifest.version} needs feature "${name}", which the pipeline no longer produces`);
    }
    return i;
  });
  const matrix = new Float32Array(rows.length * columns.length);
  rows.forEach((row, r) => {
    columns.forEach((c, j) => {
      matrix[r * columns.length + j] = row.features[c] as number;
    });
  });
  return matrix;
}

async function scoreAll(model: LoadedModel, order: readonly string[], rows: readonly LabelledRow[]) {
  const labels: string[] = [];
  const classes = model.manifest.classLabels.length;
  const probabilities = new Float64Array(rows.length * classes);
  // Bounded batches: one onnxruntime call per 8,192 rows keeps the input tensor small.
  for (let start = 0; start < rows.length; start += 8192) {
    const batch = rows.slice(start, start + 8192);
    const scores = await model.score(matrixFor(model, order, batch), batch.length);
    labels.push(...scores.labels);
    probabilities.set(scores.probabilities, start * classes);
  }
  return { labels, probabilities };
}

function figures(version: number, metrics: ReturnType<typeof holdoutMetrics>): ModelFigures {
  const segments: Record<string, Record<string, number>> = {};
  for (const [name, values] of Object.entries(metrics.segments ?? {})) segments[name] = { ...values };
  return { version, overall: { ...metrics.overall }, segments };
}

export async function runRetrain(deps: RetrainDeps, options: RetrainOptions): Promise<RetrainReport> {
  const started = performance.now();
  const elapsed = () => (performance.now() - started) / 1000;
  const now = deps.now ?? Date.now;
  const { definition, modelDir } = deps.actions.context(options.pipeline);
  const policy = definition.retraining;
  if (!policy)
    refuse(`pipeline ${definition.name} declares no retraining policy, so there is no gate to validate a candidate`);
  if (!Number.isSafeInteger(options.minRows) || options.minRows < 1) {
    refuse(`the minimum of labelled rows must be a positive whole number, got ${options.minRows}`);
  }
  const base = (options.pipeline.split("=", 2)[1] ?? options.pipeline).trim();

  mkdirSync(modelDir, { recursive: true });
  const lock = acquireLock(join(modelDir, ".retrain.lock"), definition.name);
  // A Ctrl-C or a kill leaves no lock behind; only a hard kill does, and the next run takes that over.
  const onSignal = (signal: NodeJS.Signals) => {
    lock.release();
    process.exit(signal === "SIGINT" ? 130 : 143);
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  try {
    const { deployment } = await deps.actions.registry(options.pipeline);
    if (deployment.champion === undefined) {
      // Without a registered champion, inference serves the newest version folder: the candidate's
      // folder would decide at once, whatever the gate says.
      const served = listVersions(modelDir)[0];
      refuse(
        `pipeline ${definition.name} has no registered champion, so inference serves the newest version folder${served ? ` (v${served})` : ""} and a candidate's folder would go live at once; register and promote the served version first (npm run models -- register <dir> / promote <v>)`,
      );
    }
    const championVersion = deployment.champion;
    const champion = await loadModel(join(modelDir, String(championVersion))).catch((error: unknown) =>
      refuse(`the champion v${championVersion} does not load from ${modelDir}: ${describeError(error)}`),
    );
    let candidate: LoadedModel | undefined;
    try {
      const order = featureNames(definition);
      const classLabels = champion.manifest.classLabels;

      const exportStarted = performance.now();
      const exported = await deps.clickhouse.query<ExportedRow>(
        exportQuery(deps.database, definition.name, options.window),
      );
      const prepared = prepareRows(exported, order, classLabels);
      const exportSeconds = (performance.now() - exportStarted) / 1000;
      const { rows } = prepared;
      const windowText = `${iso(options.window.since)} … ${iso(options.window.until)}`;
      deps.print(
        `exported ${exported.length} labelled events of ${definition.name}, ${windowText}, in ${exportSeconds.toFixed(1)} s`,
      );
      if (rows.length < options.minRows) {
        const skipped = prepared.skipped.missingFeature + prepared.skipped.unknownLabel;
        refuse(
          `only ${rows.length} usable labelled events of ${definition.name} in ${windowText}${skipped > 0 ? ` (${skipped} more lacked a feature or had an unknown label)` : ""}; at least ${options.minRows} are needed: widen the window (--since, --hours) or lower --min-rows`,
        );
      }
      const { train, holdout } = splitByEventId(rows, options.holdoutShare);
      for (const [part, partRows] of [
        ["training", train],
        ["holdout", holdout],
      ] as const) {
        const counts = classCounts(partRows, classLabels.length);
        const missing = classLabels.filter((_, i) => counts[i] === 0);
        if (missing.length > 0) {
          refuse(
            `the ${part} rows (${partRows.length}) have no events of class ${missing.join(", ")}; a candidate cannot be trained and measured on them: widen the window`,
          );
        }
      }

      const version = nextVersion(listVersions(modelDir), [...deployment.versions.keys()]);
      const workDir =
        options.workDir ??
        join(deps.modelsRoot, ".stack", "retrain", `${definition.name}-v${version}-${iso(now()).replace(/[:.]/g, "")}`);
      const candidateDir = join(workDir, String(version));
      mkdirSync(workDir, { recursive: true });
      const trainCsv = join(workDir, "train.csv");
      const holdoutCsv = join(workDir, "holdout.csv");
      const description = join(workDir, "training-data.json");
      writeFileSync(trainCsv, toCsv(order, train));
      writeFileSync(holdoutCsv, toCsv(order, holdout));
      const eventTime = { first: iso(rows[0]?.eventTime ?? 0), last: iso(rows.at(-1)?.eventTime ?? 0) };
      writeFileSync(
        description,
        `${JSON.stringify(
          {
            source: `ClickHouse ${deps.database}.predictions joined with labels by event_id`,
            pipeline: definition.name,
            window: { since: iso(options.window.since), until: iso(options.window.until) },
            eventTime,
            rows: {
              exported: exported.length,
              train: train.length,
              holdout: holdout.length,
              skipped: prepared.skipped,
            },
            split: { by: "sha256(event_id), first 32 bits / 2^32 < holdoutShare", holdoutShare: options.holdoutShare },
            champion: championVersion,
          },
          null,
          2,
        )}\n`,
      );

      const python = await deps.python();
      const trainingStarted = performance.now();
      const trained = await runTrainer(python, [
        base,
        "--train-csv",
        trainCsv,
        "--holdout-csv",
        holdoutCsv,
        "--out",
        candidateDir,
        "--version",
        String(version),
        "--created-at",
        iso(now()),
        "--data-description",
        description,
      ]);
      const trainingSeconds = (performance.now() - trainingStarted) / 1000;
      deps.print(
        `trained v${version} on ${train.length} rows in ${trainingSeconds.toFixed(1)} s (${String(trained.dir)})`,
      );

      const scoringStarted = performance.now();
      candidate = await loadModel(candidateDir);
      const trainer = candidate.manifest.trainer as { trainingData?: { sha256?: { train: string; holdout: string } } };
      const segments = comparableSegments(holdout, segmentsOf(definition, order), classLabels.length);
      const championMetrics = holdoutMetrics(
        holdout,
        await scoreAll(champion, order, holdout),
        champion.manifest,
        segments.compared,
      );
      const candidateMetrics = holdoutMetrics(
        holdout,
        await scoreAll(candidate, order, holdout),
        candidate.manifest,
        segments.compared,
      );
      const scoringSeconds = (performance.now() - scoringStarted) / 1000;
      const gate = validateCandidate(policy.gate, candidateMetrics, championMetrics);
      const metric = policy.gate.metric;
      const candidateValue = candidateMetrics.overall[metric];
      const championValue = championMetrics.overall[metric];
      const comparison = `${metric} ${candidateValue?.toFixed(4)} vs champion v${championVersion}'s ${championValue?.toFixed(4)} on ${holdout.length} holdout events`;
      deps.print(`holdout: ${comparison}`);

      await deps.actions.register(
        options.pipeline,
        candidateDir,
        `retrained on ${rows.length} labelled events of ${windowText}`,
        { retrain: { window: options.window, rows: rows.length, train: train.length, holdout: holdout.length } },
      );
      const toRegistered = elapsed();
      const evidence = {
        ...gate.evidence,
        reasons: gate.reasons,
        holdoutRows: holdout.length,
        segmentsNotCompared: segments.skipped,
        championVersion,
        championMetrics,
        candidateMetrics,
      };
      const decision = gate.pass ? "shadow" : "rejected";
      if (gate.pass) {
        await deps.actions.change(options.pipeline, {
          action: "shadow",
          version,
          reason: `passes the validation gate: ${comparison} (margin ${policy.gate.margin})`,
          evidence,
        });
      } else {
        await deps.actions.change(options.pipeline, {
          action: "reject",
          version,
          reason: `fails the validation gate: ${gate.reasons.join("; ")}`,
          evidence,
        });
      }
      return {
        pipeline: definition.name,
        version,
        window: { since: iso(options.window.since), until: iso(options.window.until) },
        eventTime,
        rows: {
          exported: exported.length,
          usable: rows.length,
          train: train.length,
          holdout: holdout.length,
          skipped: prepared.skipped,
        },
        trainingDataSha256: trainer.trainingData?.sha256 ?? { train: "", holdout: "" },
        metric,
        champion: figures(championVersion, championMetrics),
        candidate: figures(version, candidateMetrics),
        gate,
        segmentsNotCompared: segments.skipped,
        decision,
        seconds: {
          export: exportSeconds,
          training: trainingSeconds,
          fit: Number(trained.seconds),
          scoring: scoringSeconds,
          toRegistered,
          total: elapsed(),
        },
        candidateDir,
        workDir,
      };
    } finally {
      await champion.release();
      await candidate?.release();
    }
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    lock.release();
  }
}

/** The report as the lines a person reads. */
export function describeReport(report: RetrainReport): string[] {
  const value = (figures: ModelFigures) => figures.overall[report.metric]?.toFixed(4) ?? "n/a";
  return [
    `rows: ${report.rows.exported} exported, ${report.rows.usable} usable, ${report.rows.train} train / ${report.rows.holdout} holdout (events ${report.eventTime.first} … ${report.eventTime.last})`,
    `training: ${report.seconds.training.toFixed(1)} s (fit, export and checks ${report.seconds.fit.toFixed(1)} s)`,
    `holdout ${report.metric}: champion v${report.champion.version} ${value(report.champion)}, candidate v${report.version} ${value(report.candidate)}`,
    `segments compared: ${Object.keys(report.champion.segments).join(", ") || "none"}${report.segmentsNotCompared.length > 0 ? `; too few events of a class to compare: ${report.segmentsNotCompared.map((s) => s.name).join(", ")}` : ""}`,
    `decision: v${report.version} ${report.decision}${report.gate.pass ? "" : ` (${report.gate.reasons.join("; ")})`}`,
    `time from start to registered candidate: ${report.seconds.toRegistered.toFixed(1)} s (total ${report.seconds.total.toFixed(1)} s)`,
  ];
}
