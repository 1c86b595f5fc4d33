// What the ingest scripts share: their settings (from k6's __ENV, checked and bounded), the request
// they send, the check of the answer, and the end-of-test summary. Plain JavaScript that imports no
// k6 module (the script passes them in), so Node can import it too and the tests can check it.
import { contentTypes, encodeBody } from "./payloads.js";

/** Hard upper bounds: a run never goes beyond them, whatever the environment says. */
export const bounds = { maxRate: 2000, maxVUs: 200, maxDurationSeconds: 600, maxBatch: 2000 };

const durationPattern = /^(?:(\d+)h)?(?:(\d+)m(?!s))?(?:(\d+)s)?(?:(\d+)ms)?$/;

/** Seconds in a k6 duration ("90s", "1m30s", "2m") or a bare number of seconds. */
export function durationSeconds(text) {
  const value = String(text).trim();
  if (/^\d+(\.\d+)?$/.test(value)) return Number(value);
  const match = durationPattern.exec(value);
  if (!value || !match) throw new Error(`not a duration: "${text}" (use e.g. 30s, 1m, 1m30s)`);
  const [, h, m, s, ms] = match;
  return Number(h ?? 0) * 3600 + Number(m ?? 0) * 60 + Number(s ?? 0) + Number(ms ?? 0) / 1000;
}

function positiveNumber(env, key, fallback, max) {
  const raw = env[key];
  const value = raw === undefined || raw === "" ? fallback : Number(raw);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${key} must be a positive number, got "${raw}"`);
  if (max !== undefined && value > max) throw new Error(`${key} is ${value}; the most a run allows is ${max}`);
  return value;
}

function duration(env, key, fallback) {
  const text = env[key] === undefined || env[key] === "" ? fallback : env[key];
  const seconds = durationSeconds(text);
  if (seconds <= 0 || seconds > bounds.maxDurationSeconds) {
    throw new Error(`${key} is ${text}; it must be more than 0 and at most ${bounds.maxDurationSeconds}s`);
  }
  return `${seconds}s`;
}

/**
 * The settings of a run. `defaults` gives each script's own defaults (rate, duration, batch…).
 * Environment: BASE_URL, PIPELINE, RATE, DURATION, BATCH, MAX_VUS, SEED, TIME_FORMAT, P95_MS,
 * P99_MS, SUMMARY_DIR, RUN_ID, and for the ramping script RAMP_UP and RAMP_DOWN.
 */
export function readSettings(env, defaults = {}) {
  const baseUrl = String(env.BASE_URL || "http://127.0.0.1:8080").replace(/\/+$/, "");
  if (!/^https?:\/\/[^/]+$/.test(baseUrl)) {
    throw new Error(`BASE_URL must be http(s)://host[:port] without a path, got "${env.BASE_URL}"`);
  }
  const pipeline = env.PIPELINE || "payments";
  const rate = Math.round(positiveNumber(env, "RATE", defaults.rate ?? 50, bounds.maxRate));
  const batch = Math.round(positiveNumber(env, "BATCH", defaults.batch ?? 1, bounds.maxBatch));
  const maxVUs = Math.round(positiveNumber(env, "MAX_VUS", defaults.maxVUs ?? 50, bounds.maxVUs));
  return {
    baseUrl,
    pipeline,
    eventsUrl: `${baseUrl}/v1/pipelines/${encodeURIComponent(pipeline)}/events`,
    rate,
    batch,
    duration: duration(env, "DURATION", defaults.duration ?? "1m"),
    rampUp: duration(env, "RAMP_UP", defaults.rampUp ?? "20s"),
    rampDown: duration(env, "RAMP_DOWN", defaults.rampDown ?? "10s"),
    maxVUs,
    preAllocatedVUs: Math.min(maxVUs, 10),
    seed: Math.round(positiveNumber(env, "SEED", 1)),
    timeFormat: env.TIME_FORMAT || "mixed",
    p95Ms: positiveNumber(env, "P95_MS", defaults.p95Ms ?? 300),
    p99Ms: positiveNumber(env, "P99_MS", defaults.p99Ms ?? 1000),
    summaryDir: (env.SUMMARY_DIR || "load-tests/results").replace(/\/+$/, ""),
    runId: env.RUN_ID || "",
  };
}

/** Trend statistics the summary reports (k6's default lacks p(99)). */
export const summaryTrendStats = ["avg", "min", "med", "max", "p(90)", "p(95)", "p(99)"];

/**
 * For setup(): fails the run before any load when the API is not there or lacks the pipeline, and
 * returns the data every VU gets (the run id that makes event ids unique across runs).
 */
export function prepareRun(http, settings) {
  const response = http.get(`${settings.baseUrl}/v1/pipelines`, { tags: { name: "GET /v1/pipelines" } });
  if (response.status !== 200) {
    throw new Error(`${settings.baseUrl}/v1/pipelines answered ${response.status}; is the ingest API running?`);
  }
  const names = (JSON.parse(response.body).pipelines ?? []).map((p) => p.name);
  if (!names.includes(settings.pipeline)) {
    throw new Error(`the ingest API has no pipeline "${settings.pipeline}"; it has ${names.join(", ")}`);
  }
  return { runId: settings.runId || `k6${Date.now().toString(36)}` };
}

/** The `accepted` count of an ingest answer, or 0 when the body is not one. */
export function acceptedCount(response) {
  try {
    const accepted = JSON.parse(response.body).accepted;
    return Number.isInteger(accepted) ? accepted : 0;
  } catch {
    return 0;
  }
}

/**
 * Posts events (format "object": the one event as a JSON object; "json": an array; "ndjson") and
 * checks the answer. `k6` holds the k6 functions and metrics the script made: http, check and the
 * counters sent and accepted.
 */
export function postEvents(k6, settings, events, format) {
  const body = format === "object" ? JSON.stringify(events[0]) : encodeBody(events, format);
  const response = k6.http.post(settings.eventsUrl, body, {
    headers: { "content-type": contentTypes[format === "object" ? "json" : format] },
    tags: { name: "POST /v1/pipelines/:pipeline/events", format },
  });
  const accepted = acceptedCount(response);
  k6.sent.add(events.length);
  if (accepted > 0) k6.accepted.add(accepted);
  k6.check(response, {
    "status is 200": (r) => r.status === 200,
    "accepted equals events sent": () => accepted === events.length,
  });
  return response;
}

function metricValue(data, metric, stat) {
  const values = data.metrics[metric]?.values;
  return values ? values[stat] : undefined;
}

function ms(value) {
  return value === undefined ? "n/a" : `${value.toFixed(1)} ms`;
}

/**
 * handleSummary's answer: a short text on stdout and a JSON file
 * `<SUMMARY_DIR>/k6-<script>.json` (the folder must exist; load-tests/results does).
 */
export function summarize(data, script, settings) {
  const thresholds = [];
  for (const [metric, entry] of Object.entries(data.metrics)) {
    for (const [expression, result] of Object.entries(entry.thresholds ?? {})) {
      thresholds.push({ metric, expression, ok: result.ok });
    }
  }
  const summary = {
    script,
    baseUrl: settings.baseUrl,
    pipeline: settings.pipeline,
    durationSeconds: Math.round((data.state?.testRunDurationMs ?? 0) / 100) / 10,
    requests: metricValue(data, "http_reqs", "count") ?? 0,
    requestsPerSecond: metricValue(data, "http_reqs", "rate") ?? 0,
    failedRate: metricValue(data, "http_req_failed", "rate") ?? 0,
    latencyMs: {
      p50: metricValue(data, "http_req_duration", "med"),
      p95: metricValue(data, "http_req_duration", "p(95)"),
      p99: metricValue(data, "http_req_duration", "p(99)"),
      max: metricValue(data, "http_req_duration", "max"),
    },
    eventsSent: metricValue(data, "ingest_events_sent", "count") ?? 0,
    eventsAccepted: metricValue(data, "ingest_events_accepted", "count") ?? 0,
    checksPassedRate: metricValue(data, "checks", "rate"),
    thresholds,
    thresholdsOk: thresholds.every((t) => t.ok),
  };
  const failed = thresholds.filter((t) => !t.ok);
  const latency = summary.latencyMs;
  const text = [
    `streamscore ${script} — ${summary.pipeline} at ${summary.baseUrl}, ${summary.durationSeconds} s`,
    `  requests    ${summary.requests} (${summary.requestsPerSecond.toFixed(1)}/s), failed ${(summary.failedRate * 100).toFixed(2)}%`,
    `  latency     p50 ${ms(latency.p50)}, p95 ${ms(latency.p95)}, p99 ${ms(latency.p99)}, max ${ms(latency.max)}`,
    `  events      ${summary.eventsSent} sent, ${summary.eventsAccepted} accepted`,
    `  checks      ${summary.checksPassedRate === undefined ? "n/a" : `${(summary.checksPassedRate * 100).toFixed(2)}% passed`}`,
    `  thresholds  ${
      failed.length === 0
        ? `all ${thresholds.length} met`
        : `FAILED: ${failed.map((t) => `${t.metric} ${t.expression}`).join("; ")}`
    }`,
    "",
  ].join("\n");
  return { stdout: text, [`${settings.summaryDir}/k6-${script}.json`]: `${JSON.stringify(summary, null, 2)}\n` };
}
