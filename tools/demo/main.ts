// `npm run demo`: starts the four services on the running stack, sends payments (with drift
// injected half-way, labels for a share of them, a few bad events) and a little iris traffic,
// waits until the scored events are in ClickHouse, and prints what happened. The stack and the
// services keep running afterwards; `npm run stack:down` stops everything.
// `npm run demo -- --lifecycle` runs the model lifecycle's closed loop instead (lifecycle.ts).
import { setTimeout as sleep } from "node:timers/promises";
import { loadStackConfig } from "../../infra/local/config.ts";
import { serviceComponents } from "../../infra/local/services.ts";
import { stackDown, stackUp } from "../../infra/local/stack.ts";
import { type GeneratorRun, parseDrift, runGenerator } from "../../services/producer/generator/run.ts";
import { createIngestClient } from "../../services/producer/sdk.ts";
import { createClickHouse } from "../../services/shared/clickhouse/client.ts";
import { migrate } from "../../services/shared/clickhouse/migrations.ts";
import { createAvroCodec, parseAvroSchema } from "../../services/shared/kafka/avro-codec.ts";
import { createIdempotentProducer, createKafka } from "../../services/shared/kafka/client.ts";
import { createSchemaRegistry } from "../../services/shared/kafka/registry.ts";
import { createLogger } from "../../services/shared/logger.ts";
import { pipelineTopics } from "../../services/shared/pipeline/definition.ts";
import { getPipeline } from "../../services/shared/pipelines/index.ts";
import { readSchema } from "../../services/shared/schemas.ts";
import { consolePort, defaultPorts } from "../../services/shared/services.ts";
import { loadDemoConfig } from "./config.ts";
import { type DriftWindowRow, driftSummary } from "./drift-summary.ts";
import { runLifecycleDemo } from "./lifecycle.ts";
import { fetchMetrics, sumMetric } from "./metrics-text.ts";

const ingestUrl = `http://127.0.0.1:${defaultPorts.producer}`;

/** Model quality runs on a timer in the monitor (every 10 s as the demo starts it); wait one pass. */
async function monitorQualityPass(): Promise<void> {
  await sleep(12_000);
}

async function main(): Promise<void> {
  const config = loadDemoConfig();
  const logger = createLogger({ name: "demo", level: "error" });
  // The monitor runs without DDL rights: the schema is migrated here, as the administrator.
  const admin = createClickHouse(config.admin);
  try {
    await migrate(admin, config.CLICKHOUSE_DATABASE);
  } finally {
    await admin.close();
  }
  console.log(
    `[demo] starting the services: transformer, inference, monitor, producer, and the console on http://127.0.0.1:${consolePort}`,
  );
  const services = serviceComponents(loadStackConfig(), { MONITOR_QUALITY_INTERVAL_SECONDS: "10" });
  // The demo replays history ending now: a monitor still running from an earlier demo has its
  // watermark at that demo's end and would (rightly) count this replay as late. Start it afresh.
  await stackDown(services, () => {}, ["monitor"]);
  await stackUp(services);

  const kafka = createKafka(config, logger, "demo");
  const registry = createSchemaRegistry(config);
  const producer = createIdempotentProducer(kafka);
  await producer.connect();
  const labelsTopic = pipelineTopics("payments").labels;
  const labelSchema = readSchema("label-event.avsc");
  const labelSchemaId = await registry.register(`${labelsTopic}-value`, labelSchema);
  const labelType = parseAvroSchema(labelSchema);
  const codec = createAvroCodec(registry.resolve);

  const client = createIngestClient({ baseUrl: ingestUrl });
  const startedAt = Date.now();
  const driftAt = Math.round(config.DEMO_SECONDS / 2);
  console.log(
    `[demo] sending ${config.DEMO_RATE} payments/s and ${config.DEMO_IRIS_RATE} iris events/s for ${config.DEMO_SECONDS}s; ` +
      `from ${driftAt}s on, payment amounts shift up by 150 (drift)`,
  );

  // Bad input, to show it is refused or dead-lettered and never lost silently.
  const invalid = await client
    .publish("payments", [{ event_id: "bad-1", card_id: "c", amount: "twelve" }])
    .catch((e: Error) => e);
  await producer.send({
    topic: pipelineTopics("payments").raw,
    acks: -1,
    messages: [
      { key: "poison", value: Buffer.from("not avro at all") },
      { key: "poison", value: Buffer.from([0, 0, 0, 0x7f, 0xff, 1, 2, 3]) },
    ],
  });

  // Payments replay about 2.5 hours of event time (2 events/s over 200 cards, as in the model's
  // training data) in DEMO_SECONDS, ending now; the drift starts half-way.
  const paymentsRun: GeneratorRun = {
    pipeline: "payments",
    ratePerSecond: config.DEMO_RATE,
    eventRatePerSecond: 2,
    seconds: config.DEMO_SECONDS,
    seed: startedAt % 100_000,
    labelRate: 0.3,
  };
  const amountDrift = parseDrift(`amount:mean-shift:150@${driftAt}`, paymentsRun, startedAt);
  paymentsRun.drift = amountDrift;
  const [payments, iris] = await Promise.all([
    runGenerator(
      client,
      paymentsRun,
      async (labels) => {
        await producer.send({
          topic: labelsTopic,
          acks: -1,
          messages: labels.map((l) => ({ key: l.event_id, value: codec.encode(labelSchemaId, labelType, l) })),
        });
      },
      startedAt,
    ),
    runGenerator(client, {
      pipeline: "iris",
      ratePerSecond: config.DEMO_IRIS_RATE,
      seconds: config.DEMO_SECONDS,
      seed: 7,
    }),
  ]);
  await producer.disconnect();

  const clickhouse = createClickHouse(config);
  const db = config.CLICKHOUSE_DATABASE;
  const expected = payments.accepted + iris.accepted;
  const since = `ingest_time_ms >= ${startedAt}`;
  let stored = 0;
  for (let waited = 0; waited < 60_000 && stored < expected; waited += 1000) {
    const [row] = await clickhouse.query<{ n: string }>(
      `SELECT count() AS n FROM ${db}.predictions FINAL WHERE ${since}`,
    );
    stored = Number(row?.n ?? 0);
    if (stored < expected) await sleep(1000);
  }
  const [latency] = await clickhouse.query<{ p50: number; p99: number; max: number }>(
    `SELECT quantileExact(0.5)(ingest_to_score_ms) AS p50, quantileExact(0.99)(ingest_to_score_ms) AS p99, max(ingest_to_score_ms) AS max FROM ${db}.predictions WHERE ${since}`,
  );
  const dlq = await clickhouse.query<{ pipeline: string; error_code: string; n: string }>(
    `SELECT pipeline, error_code, count() AS n FROM ${db}.dead_letters WHERE received_time >= toDateTime(${Math.floor(startedAt / 1000)}) GROUP BY pipeline, error_code ORDER BY n DESC`,
  );
  const [fraud] = await clickhouse.query<{ flagged: string; avg_score: number }>(
    `SELECT countIf(label = '1') AS flagged, avg(score) AS avg_score FROM ${db}.predictions WHERE pipeline = 'payments' AND ${since}`,
  );
  // Drift: windows close as event time passes them; the last ones close with the run's final events.
  const drift = await clickhouse.query<DriftWindowRow>(
    `SELECT feature, toUInt64(window_start) * 1000 AS window_start, drifted, warm_up
     FROM ${db}.drift_metrics FINAL
     WHERE pipeline = 'payments' AND model_version = 1 AND statistic LIKE 'drift:%'
       AND computed_at >= toDateTime(${Math.floor(startedAt / 1000)})
     ORDER BY window_start, feature`,
  );
  await monitorQualityPass();
  const quality = await clickhouse.query<{ metric: string; value: number }>(
    `SELECT metric, round(avg(value), 4) AS value FROM ${db}.model_quality FINAL
     WHERE pipeline = 'payments' AND computed_at >= toDateTime(${Math.floor(startedAt / 1000)}) AND metric IN ('accuracy', 'roc_auc', 'brier', 'labelled_share')
     GROUP BY metric ORDER BY metric`,
  );
  await clickhouse.close();

  const [transformerText = "", inferenceText = "", monitorText = ""] = await Promise.all(
    [defaultPorts.transformer, defaultPorts.inference, defaultPorts.monitor].map((port) =>
      fetchMetrics(`http://127.0.0.1:${port}/metrics`),
    ),
  );
  const stage = (text: string, name: string, labels: Record<string, string> = {}) => sumMetric(text, name, labels);

  console.log(`
streamscore demo — ${((Date.now() - startedAt) / 1000).toFixed(0)} s
  ingest API        payments: ${payments.accepted} accepted, ${payments.rejected} rejected, ${payments.failedRequests} failed requests
                    iris: ${iris.accepted} accepted; plus one invalid request answered ${invalid instanceof Error ? invalid.message.slice(0, 3) : invalid.status}
  transformer       ${stage(transformerText, "streamscore_records_in_total")} in → ${stage(transformerText, "streamscore_records_out_total")} feature records (process lifetime), ${stage(transformerText, "streamscore_dead_lettered_total")} dead-lettered, ${stage(transformerText, "streamscore_duplicates_dropped_total")} duplicates dropped
  inference         ${stage(inferenceText, "streamscore_records_out_total")} scored (process lifetime)
  monitor           ${stage(monitorText, "streamscore_clickhouse_rows_inserted_total", { table: "predictions" })} rows inserted (process lifetime)
  ClickHouse        ${stored} of ${expected} events of this run in ${db}.predictions; ${fraud?.flagged ?? 0} payments flagged as fraud
  dead letters      ${dlq.map((d) => `${d.pipeline}/${d.error_code}: ${d.n}`).join(", ") || "none"}
  labels            ${payments.labels} ground-truth labels published to ${labelsTopic}
  drift (PSI)       ${driftSummary(drift, amountDrift.fromTime, getPipeline("payments")).join("\n                    ")}
  alerts            ${stage(monitorText, "streamscore_drift_alerts_total", { status: "firing" })} fired, ${stage(monitorText, "streamscore_drift_alerts_total", { status: "resolved" })} resolved (process lifetime; npm run cli -- tail payments.alerts --from-beginning)
  model quality     ${quality.map((q) => `${q.metric} ${q.value}`).join(", ") || "no labelled window yet"} (mean over this run's windows)
  latency           ingest → scored: p50 ${latency?.p50 ?? "?"} ms, p99 ${latency?.p99 ?? "?"} ms, max ${latency?.max ?? "?"} ms

Try next:
  curl -s -XPOST http://127.0.0.1:${defaultPorts.inference}/predict -H 'content-type: application/json' -d '{"input": [5.1, 3.5, 1.4, 0.2]}'
  npm run cli -- tail payments.scored --max 5 --from-beginning
  npm run cli -- generate --pipeline payments --rate 100 --seconds 30 --drift merchant_category:new-category:crypto@10
  curl -s '${config.CLICKHOUSE_URL}/?query=SELECT+model_version,label,count(),round(avg(score),4)+FROM+${db}.predictions+FINAL+WHERE+pipeline%3D%27payments%27+GROUP+BY+model_version,label+FORMAT+PrettyCompact'
  sed 's/\${DATABASE}/${db}/g; s/\${PIPELINE}/payments/g' infra/clickhouse/queries/top-drifted-features-last-hour.sql | curl -s '${config.CLICKHOUSE_URL}/?default_format=PrettyCompact' --data-binary @-
  curl -s '${config.CLICKHOUSE_URL}/?query=SELECT+toStartOfMinute(event_time)+AS+minute,round(avg(feature_values[1]),1)+AS+avg_amount,count()+FROM+${db}.predictions+WHERE+pipeline%3D%27payments%27+GROUP+BY+minute+ORDER+BY+minute+FORMAT+PrettyCompact'
  open http://127.0.0.1:${consolePort} (the console: drift heatmap, quality, models, dead letters)
  open http://127.0.0.1:9090 (Prometheus: streamscore_* metrics)
  npm run stack:status      npm run stack:down
`);
  if (stored < expected) {
    console.error(`[demo] only ${stored} of ${expected} accepted events reached ClickHouse within 60 s`);
    process.exitCode = 1;
  }
}

const args = process.argv.slice(2);
if (args.some((arg) => arg !== "--lifecycle")) {
  console.error(`usage: npm run demo [-- --lifecycle]; unknown: ${args.filter((a) => a !== "--lifecycle").join(" ")}`);
  process.exit(2);
}
(args.includes("--lifecycle") ? runLifecycleDemo() : main()).catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
