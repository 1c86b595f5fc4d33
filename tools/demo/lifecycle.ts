// `npm run demo -- --lifecycle`: the model lifecycle as a closed loop on the running stack, with
// the numbers of each step. The shipped payments model is registered and promoted as champion;
// payments are replayed (event time 100× faster than the wall clock) with a concept drift from a
// window on: small card-present fuel payments become fraud, which the champion scores as safe. The
// monitor's retraining policy should ask for a retrain; the trainer (the same code as `npm run
// models -- retrain`) trains a candidate on the post-drift window and sends it to shadow when it
// passes the gate; the monitor compares it with the champion on the next labelled windows and
// recommends its promotion (the payments policy leaves promotion to a person), which the demo then
// makes as the operator; the summary shows both models' realized quality before and after.
//
// The run gets a pipeline name of its own (`lifecycle-<time>=payments`) and a model root of its own
// under the stack folder: its registry starts empty, the policy's "once per version" requests start
// afresh, and the candidates it registers never land beside the shipped model, which the default
// demo serves. The four services are restarted to handle only that pipeline and stopped at the end,
// so the next `npm run demo` starts them with its own settings.
import { existsSync, mkdirSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { loadStackConfig } from "../../infra/local/config.ts";
import { serviceComponents } from "../../infra/local/services.ts";
import { stackDown, stackUp } from "../../infra/local/stack.ts";
import { paymentConcepts, paymentStream } from "../../services/producer/generator/payments.ts";
import { conceptDrift, labelSampler, sendStream } from "../../services/producer/generator/run.ts";
import { createIngestClient } from "../../services/producer/sdk.ts";
import { createClickHouse } from "../../services/shared/clickhouse/client.ts";
import { migrate } from "../../services/shared/clickhouse/migrations.ts";
import { describeError } from "../../services/shared/errors.ts";
import { createAvroCodec, parseAvroSchema } from "../../services/shared/kafka/avro-codec.ts";
import { createIdempotentProducer, createKafka } from "../../services/shared/kafka/client.ts";
import { createSchemaRegistry } from "../../services/shared/kafka/registry.ts";
import { createLogger } from "../../services/shared/logger.ts";
import { pipelineTopics } from "../../services/shared/pipeline/definition.ts";
import { getPipeline } from "../../services/shared/pipelines/index.ts";
import { projectRoot } from "../../services/shared/project.ts";
import { readSchema } from "../../services/shared/schemas.ts";
import { defaultPorts, serviceNames } from "../../services/shared/services.ts";
import { createRegistryActions } from "../models/registry-actions.ts";
import { runRetrain } from "../models/retrain.ts";
import { trainingPython } from "../training/training-venv.ts";
import { loadDemoConfig } from "./config.ts";
import {
  type LifecycleFacts,
  lifecycleSummary,
  type ModelEventFact,
  type PhaseFact,
  planLifecycle,
  type QualityRow,
  type Step,
} from "./lifecycle-report.ts";
import { fetchMetrics, sumMetric } from "./metrics-text.ts";

const definitionName = "payments";
const conceptName = "fuel-fraud";
/** Events per second of event time, as in the model's training data (2 a second over 200 cards). */
const eventRate = 2;
/** Half the events after the warm-up get a label: 300 a window, above the quality trigger's 200. */
const labelRate = 0.5;
const actor = "lifecycle demo (operator)";
const qualityIntervalSeconds = 10;
const notReached: Step<never> = { done: false, why: "not reached (an earlier step failed)" };

interface ModelEventRow {
  kind: string;
  version: number | string;
  actor: string;
  reason: string;
  at: string;
  evidence: string;
}

/** Polls `check` until it returns a value or the time is up (then undefined). */
async function waitFor<T>(check: () => Promise<T | undefined>, timeoutMs: number, everyMs = 1000) {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined || Date.now() >= until) return value;
    await sleep(everyMs);
  }
}

export async function runLifecycleDemo(): Promise<void> {
  const config = loadDemoConfig();
  const stackConfig = loadStackConfig();
  if (stackConfig.STACK_KAFKA_SECURITY !== "plaintext") {
    // A secured stack grants ACLs only for STACK_KAFKA_ACL_PIPELINES, fixed when it starts; the
    // run's fresh pipeline name would have none.
    throw new Error(
      `the lifecycle demo runs a pipeline of its own name, which a STACK_KAFKA_SECURITY=${stackConfig.STACK_KAFKA_SECURITY} stack has no ACLs for; run it on a plaintext stack`,
    );
  }
  const startedAt = Date.now();
  const name = `lifecycle-${startedAt.toString(36)}`;
  const entry = `${name}=${definitionName}`;
  const definition = getPipeline(entry);
  const policy = definition.retraining;
  if (!policy) throw new Error(`the ${definitionName} definition declares no retraining policy`);
  const db = config.CLICKHOUSE_DATABASE;
  const say = (line: string) => console.log(`[lifecycle] ${line}`);

  // A model root per run; earlier runs' roots go (their pipelines are no longer served).
  const rootsDir = join(stackConfig.STACK_DIR, "demo-lifecycle");
  if (existsSync(rootsDir)) {
    for (const old of readdirSync(rootsDir)) rmSync(join(rootsDir, old), { recursive: true, force: true });
  }
  const modelsRoot = join(rootsDir, name);
  mkdirSync(modelsRoot, { recursive: true });

  const logger = createLogger({ name: "demo", level: "error" });
  const admin = createClickHouse(config.admin);
  try {
    await migrate(admin, db);
  } finally {
    await admin.close();
  }

  const actions = createRegistryActions({
    config: { ...config, MODELS_ROOT: modelsRoot },
    logger,
    actor,
    print: (line) => say(`registry: ${line}`),
  });
  const shipped = join(projectRoot, definition.model.directory, "1");
  const facts: Partial<LifecycleFacts> & { phases: PhaseFact[] } = { phases: [] };

  // 1. The served version as champion: without one the trainer refuses (inference would serve the
  // newest folder, the candidate's, at once).
  say(`pipeline ${name} (the ${definitionName} definition), models under ${modelsRoot}`);
  try {
    await actions.register(entry, shipped, "the shipped model, registered by the lifecycle demo as the served version");
    await actions.change(entry, {
      action: "promote",
      version: 1,
      reason: "first champion: the model the pipeline serves, so retrained candidates have a champion to beat",
    });
    facts.champion = { done: true, value: { version: 1, actor } };
  } catch (error) {
    facts.champion = { done: false, why: describeError(error) };
  }

  const components = serviceComponents(stackConfig, {
    PIPELINES: entry,
    MODELS_ROOT: modelsRoot,
    MONITOR_QUALITY_INTERVAL_SECONDS: String(qualityIntervalSeconds),
    // The demo runs the trainer itself, to report its numbers; a monitor starting one too would
    // find the lock held (and passes the run's name without its definition, which no trainer knows).
    MONITOR_RETRAIN_COMMAND: "",
  }).filter((c) => (serviceNames as readonly string[]).includes(c.name));
  const quiet = () => {};
  say("restarting transformer, inference, monitor and producer for this pipeline only");
  await stackDown(components, quiet);

  const clickhouse = createClickHouse(config);
  const kafka = createKafka(config, logger, "demo");
  const producer = createIdempotentProducer(kafka);
  let servicesNote = "left running";
  try {
    await stackUp(components, quiet);
    await producer.connect();
    const registry = createSchemaRegistry(config);
    const labelsTopic = pipelineTopics(name).labels;
    const labelSchema = readSchema("label-event.avsc");
    const labelSchemaId = await registry.register(`${labelsTopic}-value`, labelSchema);
    const labelType = parseAvroSchema(labelSchema);
    const codec = createAvroCodec(registry.resolve);
    const publishLabels = async (labels: Array<{ event_id: string; label: string; label_time: number }>) => {
      await producer.send({
        topic: labelsTopic,
        acks: -1,
        messages: labels.map((l) => ({ key: l.event_id, value: codec.encode(labelSchemaId, labelType, l) })),
      });
    };

    const plan = planLifecycle(Date.now(), definition.monitoring.windowSeconds, eventRate);
    const concept = paymentConcepts[conceptName];
    const drift = conceptDrift(conceptName, definitionName, plan.driftFrom);
    facts.drift = { description: concept?.description ?? conceptName, fromTime: plan.driftFrom, sentAt: 0 };
    const seed = startedAt % 100_000;
    const stream = paymentStream({
      seed,
      startTime: plan.startTime,
      ratePerSecond: eventRate,
      drift,
      idPrefix: `${name}-e`,
      cardPrefix: `${name}-card`,
    });
    const sampler = labelSampler(seed);
    const client = createIngestClient({ baseUrl: `http://127.0.0.1:${defaultPorts.producer}` });
    let nextTime = plan.startTime;
    const totals = { accepted: 0, labels: 0 };

    const send = async (phase: string, windows: number, rate: number) => {
      const fromTime = nextTime;
      const result = await sendStream(
        client,
        name,
        stream,
        {
          count: windows * plan.eventsPerWindow,
          ratePerSecond: config.DEMO_RATE,
          labelRate: rate,
          labelSampler: sampler,
        },
        publishLabels,
      );
      nextTime += windows * plan.windowMs;
      totals.accepted += result.accepted;
      totals.labels += result.labels;
      const last = facts.phases.at(-1);
      // A phase sent in several goes (the shadow phase, window by window) is one line.
      if (last?.name === phase) {
        Object.assign(last, {
          windows: last.windows + windows,
          sent: last.sent + result.sent,
          accepted: last.accepted + result.accepted,
          labels: last.labels + result.labels,
        });
      } else facts.phases.push({ name: phase, windows, fromTime, ...result });
      if (result.failedRequests > 0 || result.rejected > 0) {
        say(`${phase}: ${result.rejected} events rejected, ${result.failedRequests} requests failed`);
      }
    };

    /** Every accepted event scored and stored, every label stored. */
    const stored = async (timeoutMs = 90_000) => {
      const ok = await waitFor(async () => {
        const [row] = await clickhouse.query<{ p: string; l: string }>(
          `SELECT (SELECT count() FROM ${db}.predictions FINAL WHERE pipeline = '${name}') AS p,
                  (SELECT count() FROM ${db}.labels FINAL WHERE pipeline = '${name}') AS l`,
        );
        return Number(row?.p) >= totals.accepted && Number(row?.l) >= totals.labels ? true : undefined;
      }, timeoutMs);
      if (!ok) say(`not everything reached ClickHouse within ${timeoutMs / 1000} s; going on with what is there`);
      return Date.now();
    };

    /** A quality pass that started after `since` (wall clock) has stored its rows. */
    const qualityPassAfter = (since: number) =>
      waitFor(
        async () => {
          const [row] = await clickhouse.query<{ t: string }>(
            `SELECT toUInt64(max(computed_at)) AS t FROM ${db}.model_quality WHERE pipeline = '${name}'`,
          );
          // computed_at is stamped after the pass's queries: one second more rules out a pass that read before `since`.
          return Number(row?.t ?? 0) >= Math.ceil(since / 1000) + 1 ? true : undefined;
        },
        4 * qualityIntervalSeconds * 1000,
      );

    const modelEvents = async (): Promise<ModelEventFact[]> => {
      const rows = await clickhouse.query<ModelEventRow>(
        `SELECT kind, version, actor, reason, toString(event_time_ms) AS at, evidence
         FROM ${db}.model_events FINAL WHERE pipeline = '${name}' ORDER BY event_time_ms, source_offset`,
      );
      return rows.map((r) => {
        let evidence: Record<string, unknown> = {};
        try {
          evidence = JSON.parse(r.evidence) as Record<string, unknown>;
        } catch {
          evidence = { unparsed: r.evidence };
        }
        return {
          kind: r.kind,
          version: Number(r.version),
          actor: r.actor,
          reason: r.reason,
          at: Number(r.at),
          evidence,
        };
      });
    };
    const eventOf = (kind: string, version?: number) => async () =>
      (await modelEvents()).find((e) => e.kind === kind && (version === undefined || e.version === version));

    /** Whether inference serves `version` in `role` (its streamscore_model_info gauge). */
    const serving = (version: number, role: string) =>
      waitFor(async () => {
        const text = await fetchMetrics(`http://127.0.0.1:${defaultPorts.inference}/metrics`);
        return sumMetric(text, "streamscore_model_info", { pipeline: name, version: String(version), role }) > 0
          ? true
          : undefined;
      }, 60_000);

    // 2. Warm-up without labels, then labelled payments, then the concept drift.
    const { phases } = plan;
    say(
      `sending ${phases.warmUp} windows of warm-up (no labels), ${phases.preDrift} before the drift, ${phases.postDrift} after it at ${config.DEMO_RATE} payments/s`,
    );
    await send("warm-up (no labels)", phases.warmUp, 0);
    await send("before the drift", phases.preDrift, labelRate);
    facts.drift.sentAt = Date.now();
    await send("after the drift", phases.postDrift, labelRate);
    const postDriftEnd = nextTime;
    const storedAt = await stored();

    // 3. The policy's request, from the audit trail.
    say("waiting for the monitor's retrain-requested");
    const trigger = await waitFor(eventOf("retrain-requested", 1), 60_000, 2000);
    facts.trigger = trigger
      ? { done: true, value: trigger }
      : {
          done: false,
          why: `no retrain-requested for v1 in model_events ${((Date.now() - storedAt) / 1000).toFixed(0)} s after the post-drift events were stored (the trainer runs anyway, as an operator would)`,
        };
    if (trigger) say(`retrain-requested: ${trigger.reason}`);

    // 4. The trainer on the post-drift window.
    let candidate: number | undefined;
    if (facts.champion.done) {
      const retrainStarted = Date.now();
      try {
        const report = await runRetrain(
          {
            actions,
            clickhouse,
            database: db,
            modelsRoot,
            python: trainingPython,
            print: (line) => say(`trainer: ${line}`),
          },
          {
            pipeline: entry,
            window: { since: plan.driftFrom, until: postDriftEnd },
            minRows: 1000,
            holdoutShare: 0.2,
          },
        );
        facts.retrain = { done: true, value: { report, startedAt: retrainStarted } };
        if (report.decision === "shadow") candidate = report.version;
      } catch (error) {
        facts.retrain = { done: false, why: describeError(error) };
      }
    } else facts.retrain = { done: false, why: "no champion was registered (step 1), so the trainer would refuse" };

    // 5. The candidate in shadow on the next windows, until the monitor recommends it.
    if (candidate === undefined) {
      facts.recommendation = { done: false, why: "no candidate went to shadow" };
      facts.promotion = { done: false, why: "no candidate went to shadow" };
    } else if (!(await serving(candidate, "shadow"))) {
      const why = `inference did not load v${candidate} as a shadow within 60 s`;
      facts.recommendation = { done: false, why };
      facts.promotion = { done: false, why };
    } else {
      say(`v${candidate} is in shadow; sending post-drift payments until the monitor recommends it`);
      await send("in shadow", phases.shadowMin, labelRate);
      let shadowWindows = phases.shadowMin;
      let recommendation: ModelEventFact | undefined;
      for (;;) {
        const at = await stored();
        await qualityPassAfter(at);
        recommendation = await waitFor(eventOf("promotion-recommended", candidate), 15_000, 2000);
        if (recommendation || shadowWindows >= phases.shadowMax) break;
        await send("in shadow", 1, labelRate);
        shadowWindows += 1;
      }
      if (!recommendation) {
        const why = `no promotion-recommended for v${candidate} after ${shadowWindows} windows in shadow (the policy needs ${policy.shadowWindows} with ${policy.minWindowLabels}+ labels for both versions)`;
        facts.recommendation = { done: false, why };
        facts.promotion = { done: false, why: "the monitor did not recommend it" };
      } else {
        facts.recommendation = { done: true, value: recommendation };
        say(`promotion-recommended: ${recommendation.reason}`);
        try {
          const [promoted] = await actions.change(entry, {
            action: "promote",
            version: candidate,
            reason: `recommended by the monitor: ${recommendation.reason}`,
            evidence: { recommendation: recommendation.evidence },
          });
          // The displaced champion keeps scoring in shadow: both models measured on the same windows.
          await actions.change(entry, {
            action: "shadow",
            version: 1,
            reason: "the displaced champion keeps scoring in shadow, to compare both on the same windows",
          });
          if (!(await serving(candidate, "champion")) || !(await serving(1, "shadow"))) {
            say("inference did not report the new roles within 60 s; the next windows may mix both models");
          }
          facts.promotion = {
            done: true,
            value: {
              version: candidate,
              at: promoted?.at ?? Date.now(),
              by: actor,
              reason: `recommended by the monitor: ${recommendation.reason}`,
              fromTime: nextTime,
            },
          };
          // 6. The new champion's own windows.
          await send("after the promotion", phases.afterPromotion, labelRate);
          await qualityPassAfter(await stored());
        } catch (error) {
          facts.promotion = { done: false, why: describeError(error) };
        }
      }
    }

    facts.quality = await clickhouse.query<QualityRow>(
      `SELECT model_version, toUInt64(window_start) * 1000 AS window_start, metric, value, labelled
       FROM ${db}.model_quality FINAL
       WHERE pipeline = '${name}' AND kind = 'realized' AND metric IN ('roc_auc', 'accuracy')`,
    );
    facts.events = await modelEvents();
  } finally {
    await producer.disconnect().catch(() => {});
    await clickhouse.close();
    // The services handle only this run's pipeline: stopped, so the next `npm run demo` starts
    // them with its own settings instead of reusing these.
    await stackDown(components, quiet).then(
      () => {
        servicesNote = `stopped (they served only ${name}); npm run demo starts them again`;
      },
      (error: unknown) => {
        servicesNote = `could not be stopped: ${describeError(error)}`;
      },
    );
  }

  const summary: LifecycleFacts = {
    pipeline: name,
    definition: definitionName,
    startedAt,
    finishedAt: Date.now(),
    windowMs: definition.monitoring.windowSeconds * 1000,
    minWindowLabels: policy.minWindowLabels,
    autoPromote: policy.autoPromote,
    labelRate,
    phases: facts.phases,
    drift: facts.drift ?? { description: conceptName, fromTime: 0, sentAt: 0 },
    champion: facts.champion ?? notReached,
    trigger: facts.trigger ?? notReached,
    retrain: facts.retrain ?? notReached,
    recommendation: facts.recommendation ?? notReached,
    promotion: facts.promotion ?? notReached,
    quality: facts.quality ?? [],
    events: facts.events ?? [],
    services: servicesNote,
  };
  console.log(`\n${lifecycleSummary(summary)}\n`);
  console.log(`Look closer:
  npm run models -- list --pipeline ${entry}
  curl -s '${config.CLICKHOUSE_URL}/?query=SELECT+model_version,toStartOfFiveMinute(window_start)+AS+w,metric,round(value,4),labelled+FROM+${db}.model_quality+FINAL+WHERE+pipeline%3D%27${name}%27+AND+kind%3D%27realized%27+AND+metric%3D%27roc_auc%27+ORDER+BY+w,model_version+FORMAT+PrettyCompact'
`);
  const complete = [summary.champion, summary.trigger, summary.retrain, summary.recommendation, summary.promotion];
  if (complete.some((s) => !s.done)) process.exitCode = 1;
}
