// Single events at a ramping arrival rate: from RATE/10 up to RATE requests per second over
// RAMP_UP, held for DURATION, down to none over RAMP_DOWN (default 100/s: 20 s up, 30 s held,
// 10 s down), against BASE_URL only. Shows where latency starts to climb as the rate grows and
// whether the API recovers when it falls.
import { check } from "k6";
import exec from "k6/execution";
import http from "k6/http";
import { Counter } from "k6/metrics";
import { postEvents, prepareRun, readSettings, summarize, summaryTrendStats } from "./common.js";
import { createEventSource } from "./payloads.js";

const settings = readSettings(__ENV, { rate: 100, duration: "30s", rampUp: "20s", rampDown: "10s" });

export const options = {
  scenarios: {
    ramping_events: {
      executor: "ramping-arrival-rate",
      startRate: Math.max(1, Math.round(settings.rate / 10)),
      timeUnit: "1s",
      stages: [
        { target: settings.rate, duration: settings.rampUp },
        { target: settings.rate, duration: settings.duration },
        { target: 0, duration: settings.rampDown },
      ],
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

export default function rampingEvent(data) {
  if (!source) {
    source = createEventSource({
      pipeline: settings.pipeline,
      seed: settings.seed,
      vu: exec.vu.idInTest,
      idPrefix: `${data.runId}-ramp`,
      timeFormat: settings.timeFormat,
    });
  }
  postEvents(k6, settings, [source.event(exec.vu.iterationInScenario)], "object");
}

export function handleSummary(data) {
  return summarize(data, "ingest-ramping", settings);
}
