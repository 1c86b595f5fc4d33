// Batches at a constant arrival rate: RATE requests per second of BATCH events each (default 10/s
// of 50 events, for 1 minute), as a JSON array in one scenario and as NDJSON in another, running
// side by side (FORMAT=json or FORMAT=ndjson runs one of them), against BASE_URL only. This is
// how bulk producers use the API; the event rate is RATE × BATCH per scenario.
import { check } from "k6";
import exec from "k6/execution";
import http from "k6/http";
import { Counter } from "k6/metrics";
import { postEvents, prepareRun, readSettings, summarize, summaryTrendStats } from "./common.js";
import { createEventSource } from "./payloads.js";

const settings = readSettings(__ENV, { rate: 10, batch: 50, duration: "1m", p95Ms: 500, p99Ms: 1500 });
const formats = { json_batches: "json", ndjson_batches: "ndjson" };
const only = __ENV.FORMAT || "both";
if (!["both", "json", "ndjson"].includes(only)) throw new Error(`FORMAT must be both, json or ndjson, got "${only}"`);

function batchScenario(format) {
  return {
    executor: "constant-arrival-rate",
    rate: settings.rate,
    timeUnit: "1s",
    duration: settings.duration,
    preAllocatedVUs: settings.preAllocatedVUs,
    maxVUs: settings.maxVUs,
    gracefulStop: "10s",
    tags: { format },
  };
}

export const options = {
  scenarios: Object.fromEntries(
    Object.entries({
      json_batches: batchScenario("json"),
      ndjson_batches: batchScenario("ndjson"),
    }).filter(([name]) => only === "both" || formats[name] === only),
  ),
  thresholds: {
    http_req_duration: [`p(95)<${settings.p95Ms}`, `p(99)<${settings.p99Ms}`],
    http_req_failed: [{ threshold: "rate<0.01", abortOnFail: true, delayAbortEval: "10s" }],
    checks: ["rate>0.99"],
  },
  summaryTrendStats,
};

const accepted = new Counter("ingest_events_accepted");
const sent = new Counter("ingest_events_sent");
const k6 = { http, check, accepted, sent };
const sources = {};

export function setup() {
  return prepareRun(http, settings);
}

export default function batch(data) {
  const scenario = exec.scenario.name;
  const format = formats[scenario] ?? "json";
  if (!sources[scenario]) {
    sources[scenario] = createEventSource({
      pipeline: settings.pipeline,
      seed: settings.seed,
      vu: exec.vu.idInTest,
      idPrefix: `${data.runId}-${format}`,
      timeFormat: settings.timeFormat,
    });
  }
  postEvents(k6, settings, sources[scenario].batch(settings.batch, exec.vu.iterationInScenario), format);
}

export function handleSummary(data) {
  return summarize(data, "ingest-batches", settings);
}
