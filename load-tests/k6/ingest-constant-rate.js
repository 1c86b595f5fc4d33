// Single events at a constant arrival rate: RATE requests per second, one event each, for
// DURATION (default 50/s for 1 minute), against BASE_URL only. k6 starts iterations on schedule
// whether or not earlier ones have finished, so a slow API shows up as latency and dropped
// iterations, not as a lower request rate.
import { check } from "k6";
import exec from "k6/execution";
import http from "k6/http";
import { Counter } from "k6/metrics";
import { postEvents, prepareRun, readSettings, summarize, summaryTrendStats } from "./common.js";
import { createEventSource } from "./payloads.js";

const settings = readSettings(__ENV, { rate: 50, duration: "1m" });

export const options = {
  scenarios: {
    single_events: {
      executor: "constant-arrival-rate",
      rate: settings.rate,
      timeUnit: "1s",
      duration: settings.duration,
      preAllocatedVUs: settings.preAllocatedVUs,
      maxVUs: settings.maxVUs,
      gracefulStop: "10s",
    },
  },
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
let source;

export function setup() {
  return prepareRun(http, settings);
}

export default function singleEvent(data) {
  if (!source) {
    source = createEventSource({
      pipeline: settings.pipeline,
      seed: settings.seed,
      vu: exec.vu.idInTest,
      idPrefix: `${data.runId}-single`,
      timeFormat: settings.timeFormat,
    });
  }
  postEvents(k6, settings, [source.event(exec.vu.iterationInScenario)], "object");
}

export function handleSummary(data) {
  return summarize(data, "ingest-constant-rate", settings);
}
