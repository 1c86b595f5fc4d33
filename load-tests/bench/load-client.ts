// The HTTP load generator, run as a child process so its CPU is not counted as the server's:
// `node load-tests/bench/load-client.ts '<LoadRequest as JSON>'` prints one LoadResult as JSON.
// Saturation runs (a duration, or a count of distinct events) are driven by autocannon: keep-alive
// connections, each sending its next request when the last was answered. Fixed-rate runs (latency)
// stay an open loop on Node's fetch: autocannon's rate limit is per connection and closed-loop, so a
// slow answer would delay the next request and hide the wait from the latency figures. Request
// bodies are built before the clock starts; every mode ends by itself.
import autocannon, { type AutocannonRequest } from "autocannon";
import { recentPayments } from "./fixtures.ts";

export interface LoadRequest {
  url: string;
  /** duration: as fast as possible for `seconds`; count: send `events` once; rate: `rate` events/s for `seconds`. */
  mode: "duration" | "count" | "rate";
  connections: number;
  batch: number;
  seconds?: number;
  events?: number;
  rate?: number;
  seed: number;
  idPrefix: string;
  /** Cards the generated payments are spread over. */
  cards?: number;
}

export interface LoadResult {
  startedAt: number;
  finishedAt: number;
  requests: number;
  accepted: number;
  rejected: number;
  failedRequests: number;
  /** Fixed-rate runs: refused requests by status and the API's error code ("429 BACK_PRESSURE"). */
  refusals?: Record<string, number>;
}

function bodies(events: readonly object[], batch: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < events.length; i += batch) out.push(JSON.stringify(events.slice(i, i + batch)));
  return out;
}

const headers = { "content-type": "application/json" };

/** Counts from the ingest API's answer without parsing its per-event results. */
function countAnswer(result: LoadResult, body: string): void {
  result.accepted += Number(/"accepted":(\d+)/.exec(body)?.[1] ?? 0);
  result.rejected += Number(/"rejected":(\d+)/.exec(body)?.[1] ?? 0);
}

function countRefusal(result: LoadResult, reason: string): void {
  result.refusals ??= {};
  result.refusals[reason] = (result.refusals[reason] ?? 0) + 1;
}

/**
 * autocannon at saturation. `perClient` gives each connection its own list of bodies (count mode:
 * every event once, split the way autocannon splits `amount` between connections); without it,
 * every connection cycles through the pool.
 */
async function saturate(
  request: LoadRequest,
  result: LoadResult,
  options: { pool: string[]; seconds?: number; amount?: number; perClient?: boolean },
): Promise<void> {
  const toRequest = (body: string): AutocannonRequest => ({
    method: "POST",
    body,
    onResponse: (status, answer) => {
      lastAnswerAt = Date.now();
      if (status < 300) countAnswer(result, answer);
    },
  });
  const connections = Math.max(1, Math.min(request.connections, options.amount ?? request.connections));
  // autocannon reports the end at its next sampling tick; the run ends with its last answer.
  let lastAnswerAt = 0;
  let nextClient = 0;
  let nextBody = 0;
  const setupClient = options.perClient
    ? (client: { setRequests(requests: AutocannonRequest[]): void }) => {
        const amount = options.amount ?? 0;
        const share = Math.floor(amount / connections) + (nextClient < amount % connections ? 1 : 0);
        nextClient += 1;
        client.setRequests(options.pool.slice(nextBody, nextBody + share).map(toRequest));
        nextBody += share;
      }
    : undefined;
  result.startedAt = Date.now();
  const run = await autocannon({
    url: request.url,
    connections,
    method: "POST",
    headers,
    timeout: 30,
    sampleInt: 100,
    ...(options.seconds !== undefined ? { duration: options.seconds } : { amount: options.amount }),
    requests: options.perClient ? [{ method: "POST", body: options.pool[0] }] : options.pool.map(toRequest),
    setupClient,
  });
  result.finishedAt = lastAnswerAt || Date.now();
  result.requests = run.requests.total;
  result.failedRequests = run.errors + run.timeouts + run.non2xx;
}

export async function runLoad(request: LoadRequest): Promise<LoadResult> {
  const result: LoadResult = { startedAt: 0, finishedAt: 0, requests: 0, accepted: 0, rejected: 0, failedRequests: 0 };
  if (request.mode === "duration") {
    // A pool of distinct bodies, reused: these runs do not need unique events.
    const pool = bodies(
      recentPayments(request.batch * request.connections * 4, request.seed, request.idPrefix, request.cards),
      request.batch,
    );
    await saturate(request, result, { pool, seconds: request.seconds ?? 1 });
    return result;
  }
  if (request.mode === "count") {
    const all = bodies(
      recentPayments(request.events ?? 0, request.seed, request.idPrefix, request.cards),
      request.batch,
    );
    await saturate(request, result, { pool: all, amount: all.length, perClient: true });
    return result;
  }

  // Open loop: request i leaves at its scheduled time whether or not earlier ones were answered.
  const post = async (body: string) => {
    try {
      const response = await fetch(request.url, { method: "POST", headers, body });
      const answer = await response.text();
      result.requests += 1;
      if (response.status >= 300) {
        result.failedRequests += 1;
        countRefusal(result, `${response.status} ${/"error":"([A-Z_]+)"/.exec(answer)?.[1] ?? ""}`.trim());
      } else countAnswer(result, answer);
    } catch {
      result.failedRequests += 1;
      countRefusal(result, "no answer");
    }
  };
  const rate = request.rate ?? 1;
  const total = Math.round(rate * (request.seconds ?? 1));
  const all = bodies(recentPayments(total, request.seed, request.idPrefix, request.cards), request.batch);
  const gapMs = (request.batch / rate) * 1000;
  const inFlight = new Set<Promise<void>>();
  result.startedAt = Date.now();
  for (let i = 0; i < all.length; i += 1) {
    const due = result.startedAt + i * gapMs;
    const wait = due - Date.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    const sent = post(all[i] as string).finally(() => inFlight.delete(sent));
    inFlight.add(sent);
    // Bounded: a stalled server cannot make this queue grow without end.
    if (inFlight.size >= 1024) await Promise.race(inFlight);
  }
  await Promise.all(inFlight);
  result.finishedAt = Date.now();
  return result;
}

if (import.meta.main) {
  const request = JSON.parse(process.argv[2] ?? "{}") as LoadRequest;
  runLoad(request)
    .then((result) => {
      process.stdout.write(`${JSON.stringify(result)}\n`);
    })
    .catch((error: unknown) => {
      console.error(error);
      process.exit(1);
    });
}
