// The ledger generator: sends seeded payments through the ingest API and records every attempt.
// Each key is sent serially (its next event only after the previous one was answered), keys are
// spread over lanes that send side by side, and a request that gets 429/5xx or no answer is
// retried with the same event ids, after Retry-After when the API gives one.
import { Agent, request } from "node:http";
import { setTimeout as sleep } from "node:timers/promises";
import { type PaymentEventRecord, paymentStream } from "../../services/producer/generator/payments.ts";
import { isRetriableStatus } from "../../services/producer/sdk.ts";
import { seededRandom } from "../../services/shared/random.ts";
import type { Attempt, LedgerEntry } from "./checker.ts";

export interface LedgerOptions {
  /** Base URL of the ingest API, asked before each attempt (the producer may move on restart). */
  baseUrl: () => string;
  pipeline: string;
  events: number;
  seed: number;
  /** Distinct keys (cards). */
  keys: number;
  /** Events per second over all lanes. */
  ratePerSecond: number;
  /** Share of events made invalid on purpose (a negative amount: accepted by the API, dead-lettered by the transformer). */
  badShare: number;
  /** Requests in flight at once, each lane with its own keys. */
  lanes: number;
  /** Events per request. */
  batchSize: number;
  requestTimeoutMs: number;
  /** How long one request is retried before its events are left "unknown". */
  retryForMs: number;
  idPrefix: string;
  /** Stops sending new requests (events not sent yet are left out; a request already sent is still retried until answered). */
  signal?: AbortSignal;
  /** Sends new requests only this long after the start (planning excluded); the same as `signal` otherwise. */
  sendForMs?: number;
}

export interface PlannedEvent {
  entry: LedgerEntry;
  event: PaymentEventRecord;
}

/**
 * The events of a run, one at a time, with their per-key sequence numbers and bad tags;
 * deterministic per seed. Lazy: a run holds only what it has sent and what waits in its lanes.
 */
export function* eventPlan(
  options: Pick<LedgerOptions, "events" | "seed" | "keys" | "badShare" | "idPrefix">,
): Generator<PlannedEvent> {
  const random = seededRandom(options.seed ^ 0x5eed);
  const stream = paymentStream({
    seed: options.seed,
    // Event time runs at about the send rate and ends now: nothing is in the future, and a retry
    // comes well within the one-hour de-duplication window of event time that P3 promises (at a
    // faster event clock a retry after a broker bounce would be hours "late" and rightly not deduplicated).
    startTime: Date.now() - options.events,
    ratePerSecond: 1000,
    cards: options.keys,
    idPrefix: options.idPrefix,
    cardPrefix: `${options.idPrefix}-card`,
  });
  const seqs = new Map<string, number>();
  let count = 0;
  for (const { event } of stream) {
    if (count === options.events) return;
    count += 1;
    const key = event.card_id;
    const seq = seqs.get(key) ?? 0;
    seqs.set(key, seq + 1);
    const bad = random() < options.badShare;
    yield {
      entry: { id: event.event_id, key, seq, bad, status: "unknown", attempts: [] },
      event: bad ? { ...event, amount: -1 } : event,
    };
  }
}

/** The whole plan at once (for tests). */
export function planEvents(options: Pick<LedgerOptions, "events" | "seed" | "keys" | "badShare" | "idPrefix">) {
  return [...eventPlan(options)];
}

/**
 * Hands each lane the next events of its keys, drawing from the plan only as lanes need them.
 * `generated` lists every entry drawn, in plan order.
 */
function laneFeeder(plan: Generator<PlannedEvent>, lanes: number) {
  const queues: PlannedEvent[][] = Array.from({ length: lanes }, () => []);
  const heads: number[] = Array.from({ length: lanes }, () => 0);
  const generated: LedgerEntry[] = [];
  return {
    generated,
    take(lane: number, count: number): PlannedEvent[] {
      const queue = queues[lane] as PlannedEvent[];
      while (queue.length - (heads[lane] ?? 0) < count) {
        const next = plan.next();
        if (next.done) break;
        generated.push(next.value.entry);
        queues[laneOf(next.value.entry.key, lanes)]?.push(next.value);
      }
      const head = heads[lane] ?? 0;
      const batch = queue.slice(head, head + count);
      // Drop what was handed out, now and then, so sent events can be collected.
      if (head + batch.length > 4096) {
        queue.splice(0, head + batch.length);
        heads[lane] = 0;
      } else heads[lane] = head + batch.length;
      return batch;
    },
  };
}

/** Which lane sends a key: a stable hash, so one key always stays in one lane. */
export function laneOf(key: string, lanes: number): number {
  let hash = 0;
  for (let i = 0; i < key.length; i += 1) hash = (Math.imul(hash, 31) + key.charCodeAt(i)) >>> 0;
  return hash % lanes;
}

interface Answer {
  outcome: Attempt["outcome"];
  results?: Array<{ index: number; status: string }>;
  retryAfterMs?: number;
}

// node:http rather than fetch: fetch's web streams cost the generator about 3 ms of CPU a request,
// which on a 2-core machine took from the cluster the load it was meant to offer.
const agent = new Agent({ keepAlive: true });

/** One POST: its status and body, "timeout" after timeoutMs (the connection is then closed), or "error". */
function post(url: string, events: PaymentEventRecord[], timeoutMs: number): Promise<Answer> {
  return new Promise((resolve) => {
    const body = Buffer.from(JSON.stringify(events));
    let settled = false;
    const settle = (answer: Answer) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(answer);
    };
    const req = request(url, {
      method: "POST",
      agent,
      headers: { "content-type": "application/json", "content-length": body.length },
    });
    const timer = setTimeout(() => {
      settle({ outcome: "timeout" });
      req.destroy();
    }, timeoutMs);
    req.on("error", () => settle({ outcome: "error" }));
    req.on("response", (response) => {
      const chunks: Buffer[] = [];
      response.on("data", (chunk: Buffer) => chunks.push(chunk));
      response.on("error", () => settle({ outcome: "error" }));
      response.on("end", () => {
        let parsed: { results?: Answer["results"] } = {};
        try {
          parsed = JSON.parse(Buffer.concat(chunks).toString()) as typeof parsed;
        } catch {
          // A refusal without a JSON body: its status decides.
        }
        const retryAfter = Number(response.headers["retry-after"]);
        settle({
          outcome: response.statusCode ?? 0,
          results: parsed.results,
          retryAfterMs: Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter * 1000 : undefined,
        });
      });
    });
    req.end(body);
  });
}

/** Sends one request's events until answered for good, or until retryForMs passed. */
async function sendBatch(batch: PlannedEvent[], options: LedgerOptions): Promise<void> {
  const giveUpAt = Date.now() + options.retryForMs;
  const events = batch.map((p) => p.event);
  for (let attempt = 1; ; attempt += 1) {
    const url = `${options.baseUrl()}/v1/pipelines/${encodeURIComponent(options.pipeline)}/events`;
    const sentAt = Date.now();
    const answer = await post(url, events, options.requestTimeoutMs);
    const record: Attempt = { attempt, outcome: answer.outcome, sentAt, answeredAt: Date.now() };
    for (const p of batch) p.entry.attempts.push(record);
    const status = typeof answer.outcome === "number" ? answer.outcome : 0;
    if ((status === 200 || status === 207 || status === 400) && answer.results) {
      for (const result of answer.results) {
        const entry = batch[result.index]?.entry;
        if (entry) entry.status = result.status === "accepted" ? "accepted" : "rejected";
      }
      return;
    }
    if (!isRetriableStatus(status) || Date.now() > giveUpAt) return;
    // Without Retry-After: a short, growing pause.
    await sleep(answer.retryAfterMs ?? Math.min(200 * attempt, 2000));
  }
}

/** Sends the planned events; resolves with the ledger of what was sent (in plan order). */
export async function runLedger(
  options: LedgerOptions,
  onProgress?: (sent: number) => void,
): Promise<{ ledger: LedgerEntry[]; startedAt: number; finishedAt: number }> {
  const feeder = laneFeeder(eventPlan(options), options.lanes);
  const startedAt = Date.now();
  const stopAt = startedAt + (options.sendForMs ?? Number.POSITIVE_INFINITY);
  const perLaneRate = options.ratePerSecond / options.lanes;
  let sent = 0;
  const sentEntries = new Set<LedgerEntry>();
  await Promise.all(
    Array.from({ length: options.lanes }, async (_, lane) => {
      const stopped = () => options.signal?.aborted || Date.now() >= stopAt;
      for (let i = 0; ; i += options.batchSize) {
        if (stopped()) return;
        // Pace each lane: its i-th event is due at i / rate seconds after the start.
        const due = startedAt + (i / perLaneRate) * 1000;
        if (due > Date.now()) await sleep(due - Date.now());
        if (stopped()) return;
        const batch = feeder.take(lane, options.batchSize);
        if (batch.length === 0) return;
        for (const p of batch) sentEntries.add(p.entry);
        await sendBatch(batch, options);
        sent += batch.length;
        onProgress?.(sent);
      }
    }),
  );
  return {
    ledger: feeder.generated.filter((e) => sentEntries.has(e)),
    startedAt,
    finishedAt: Date.now(),
  };
}
