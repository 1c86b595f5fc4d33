// The HTTP load generator, run as a child process so its CPU is not counted as the server's:
// `node load-tests/bench/load-client.ts '<LoadRequest as JSON>'` prints one LoadResult as JSON.
// Built on Node's fetch (undici inside; autocannon is not installed). Request bodies are built
// before the clock starts; every mode ends by itself (a duration, a count, or a rate × duration).
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
}

function bodies(events: readonly object[], batch: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < events.length; i += batch) out.push(JSON.stringify(events.slice(i, i + batch)));
  return out;
}

export async function runLoad(request: LoadRequest): Promise<LoadResult> {
  const result: LoadResult = { startedAt: 0, finishedAt: 0, requests: 0, accepted: 0, rejected: 0, failedRequests: 0 };
  const post = async (body: string) => {
    try {
      const response = await fetch(request.url, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body,
      });
      const answer = (await response.json()) as { accepted?: number; rejected?: number };
      result.requests += 1;
      if (response.status >= 300 && response.status !== 207) result.failedRequests += 1;
      result.accepted += answer.accepted ?? 0;
      result.rejected += answer.rejected ?? 0;
    } catch {
      result.failedRequests += 1;
    }
  };

  if (request.mode === "duration") {
    // A pool of distinct bodies, reused: these runs do not need unique events.
    const pool = bodies(
      recentPayments(request.batch * request.connections * 4, request.seed, request.idPrefix, request.cards),
      request.batch,
    );
    const until = Date.now() + (request.seconds ?? 1) * 1000;
    result.startedAt = Date.now();
    await Promise.all(
      Array.from({ length: request.connections }, async (_, worker) => {
        for (let i = worker; Date.now() < until; i += request.connections) await post(pool[i % pool.length] as string);
      }),
    );
  } else if (request.mode === "count") {
    const all = bodies(
      recentPayments(request.events ?? 0, request.seed, request.idPrefix, request.cards),
      request.batch,
    );
    result.startedAt = Date.now();
    await Promise.all(
      Array.from({ length: request.connections }, async (_, worker) => {
        for (let i = worker; i < all.length; i += request.connections) await post(all[i] as string);
      }),
    );
  } else {
    // Open loop: request i leaves at its scheduled time whether or not earlier ones were answered.
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
  }
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
