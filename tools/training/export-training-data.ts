// Writes a labelled training set for one pipeline as CSV: seeded generator events (no drift) run
// through the transformer's own feature path (`transformEvent`: cleaning, per-entity state, features), so the model is
// trained on exactly the vectors the streaming transformer will produce at serving time.
//
//   node tools/training/export-training-data.ts --pipeline payments --out .stack/training-data/payments.csv
import { once } from "node:events";
import { createWriteStream } from "node:fs";
import { mkdir } from "node:fs/promises";
import { dirname } from "node:path";
import { finished } from "node:stream/promises";
import { parseArgs } from "node:util";
import { irisStream } from "../../services/producer/generator/iris.ts";
import { paymentStream } from "../../services/producer/generator/payments.ts";
import { featureNames, type PipelineDefinition } from "../../services/shared/pipeline/definition.ts";
import { getPipeline } from "../../services/shared/pipelines/index.ts";
import { type EntityState, stateRetention } from "../../services/transformer/entity-state.ts";
import { transformEvent } from "../../services/transformer/transform-event.ts";

interface LabelledEvent {
  event: object;
  label: number;
}

interface ExportPlan {
  rows: number;
  ratePerSecond: number;
  stream: (options: { seed: number; startTime: number; ratePerSecond: number }) => Iterator<LabelledEvent>;
}

// 2 events/s of event time over the generator's default 200 cards: each card pays about 36 times
// an hour, as in the live stream at any rate, and 200,000 events span 28 hours, so every hour of
// the day is in the training profile.
const plans: Record<string, ExportPlan> = {
  payments: { rows: 200_000, ratePerSecond: 2, stream: paymentStream },
  iris: { rows: 3_000, ratePerSecond: 10, stream: irisStream },
};

const defaultSeed = 20260101;
const defaultStart = "2026-01-01T00:00:00Z";

interface ExportSummary {
  generated: number;
  written: number;
  rejected: number;
  duplicates: number;
}

/** Yields `[features, label]` for each generated event that survives cleaning and de-duplication. */
function* labelledFeatures(
  definition: PipelineDefinition,
  events: Iterable<LabelledEvent>,
  summary: ExportSummary,
): Generator<[number[], number]> {
  const path = { definition, retention: stateRetention(definition) };
  const states = new Map<string, EntityState>();
  for (const { event, label } of events) {
    summary.generated += 1;
    const raw = event as Record<string, unknown>;
    // Offline, processing time is the event time: nothing is in the future.
    const outcome = transformEvent(path, states, raw, Number(raw[definition.eventTime]));
    if (outcome.kind === "rejected") {
      summary.rejected += 1;
    } else if (outcome.kind === "duplicate") {
      summary.duplicates += 1;
    } else {
      summary.written += 1;
      yield [outcome.features, label];
    }
  }
}

function* take<T>(iterator: Iterator<T>, count: number): Generator<T> {
  for (let i = 0; i < count; i += 1) {
    const next = iterator.next();
    if (next.done) return;
    yield next.value;
  }
}

function positiveInt(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const parsed = Number(value);
  if (!Number.isSafeInteger(parsed) || parsed <= 0)
    throw new Error(`--${name} must be a positive integer, got "${value}"`);
  return parsed;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      pipeline: { type: "string" },
      out: { type: "string" },
      rows: { type: "string" },
      seed: { type: "string" },
      start: { type: "string" },
    },
    strict: true,
  });
  if (!values.pipeline || !values.out) {
    throw new Error(
      "usage: export-training-data.ts --pipeline <name> --out <file.csv> [--rows N] [--seed N] [--start ISO]",
    );
  }
  const definition = getPipeline(values.pipeline);
  const plan = plans[definition.name];
  if (!plan) throw new Error(`no training-data plan for pipeline "${definition.name}"`);
  const rows = positiveInt("rows", values.rows, plan.rows);
  const seed = positiveInt("seed", values.seed, defaultSeed);
  const startTime = Date.parse(values.start ?? defaultStart);
  if (Number.isNaN(startTime)) throw new Error(`--start must be an ISO date, got "${values.start}"`);

  await mkdir(dirname(values.out), { recursive: true });
  const out = createWriteStream(values.out);
  const summary: ExportSummary = { generated: 0, written: 0, rejected: 0, duplicates: 0 };
  const events = take(plan.stream({ seed, startTime, ratePerSecond: plan.ratePerSecond }), rows);
  out.write(`${[...featureNames(definition), "label"].join(",")}\n`);
  let chunk: string[] = [];
  for (const [features, label] of labelledFeatures(definition, events, summary)) {
    chunk.push(`${features.join(",")},${label}`);
    if (chunk.length === 10_000) {
      if (!out.write(`${chunk.join("\n")}\n`)) await once(out, "drain");
      chunk = [];
    }
  }
  if (chunk.length > 0) out.write(`${chunk.join("\n")}\n`);
  out.end();
  await finished(out);
  console.log(
    `${definition.name}: ${summary.written} rows → ${values.out} (generated ${summary.generated}, rejected ${summary.rejected}, duplicates ${summary.duplicates}; seed ${seed}, ${plan.ratePerSecond}/s from ${new Date(startTime).toISOString()})`,
  );
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
