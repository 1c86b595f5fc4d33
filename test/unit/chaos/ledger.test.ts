// The ledger generator against a stand-in ingest API on loopback: every planned event sent, each
// card's events in sequence, refused requests retried with the same ids, and a time-bounded send
// that records exactly what it sent.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type LedgerOptions, planEvents, runLedger } from "../../chaos/ledger.ts";

interface Received {
  ids: string[];
  cards: string[];
  status: number;
}

let server: Server;
let baseUrl: string;
const received: Received[] = [];
/** Answers the first request of each batch with 503 or 408 in turn when set (then accepts its retry). */
let refuseFirstTry = false;
const refusedOnce = new Set<string>();

beforeAll(async () => {
  server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      const events = JSON.parse(Buffer.concat(chunks).toString()) as Array<{ event_id: string; card_id: string }>;
      const ids = events.map((e) => e.event_id);
      const first = ids[0] ?? "";
      const refuse = refuseFirstTry && !refusedOnce.has(first);
      if (refuse) refusedOnce.add(first);
      const status = refuse ? (refusedOnce.size % 2 === 0 ? 408 : 503) : 200;
      received.push({ ids, cards: events.map((e) => e.card_id), status });
      response.writeHead(status, { "content-type": "application/json", ...(refuse ? { "retry-after": "0" } : {}) });
      const results = events.map((e, index) => ({ index, status: "accepted", eventId: e.event_id }));
      response.end(
        JSON.stringify(refuse ? { error: "OVERLOADED" } : { accepted: events.length, rejected: 0, results }),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});

const options = (overrides: Partial<LedgerOptions> = {}): LedgerOptions => ({
  baseUrl: () => baseUrl,
  pipeline: "payments",
  events: 400,
  seed: 5,
  keys: 20,
  ratePerSecond: 100_000,
  badShare: 0,
  lanes: 4,
  batchSize: 10,
  requestTimeoutMs: 5000,
  retryForMs: 10_000,
  idPrefix: "ledger-test",
  ...overrides,
});

describe("ledger generator", () => {
  it("sends every planned event, in plan order in the ledger and in sequence per card, retrying refusals with the same ids", async () => {
    received.length = 0;
    refuseFirstTry = true;
    const { ledger } = await runLedger(options());
    refuseFirstTry = false;
    const planned = planEvents(options()).map((p) => p.entry.id);
    expect(ledger.map((e) => e.id)).toEqual(planned);
    expect(ledger.every((e) => e.status === "accepted")).toBe(true);
    // Every batch was refused once (503, or 408 as a server too busy to read the body answers), then
    // sent again with the same ids.
    const refused = received.filter((r) => r.status !== 200);
    expect(new Set(refused.map((r) => r.status))).toEqual(new Set([408, 503]));
    for (const r of refused) {
      expect(received.some((other) => other.status === 200 && other.ids.join() === r.ids.join())).toBe(true);
    }
    for (const entry of ledger) {
      expect(entry.attempts.map((a) => a.outcome)).toEqual([expect.toBeOneOf([408, 503]), 200]);
    }
    // Per card, the accepted events arrive in their sequence.
    const seqOf = new Map(ledger.map((e) => [e.id, e.seq]));
    const lastSeq = new Map<string, number>();
    for (const r of received.filter((x) => x.status === 200)) {
      r.ids.forEach((id, i) => {
        const card = r.cards[i] ?? "";
        const seq = seqOf.get(id) ?? -1;
        expect(seq).toBe((lastSeq.get(card) ?? -1) + 1);
        lastSeq.set(card, seq);
      });
    }
  });

  it("stops sending new requests after sendForMs and records exactly what it sent", async () => {
    received.length = 0;
    const { ledger, startedAt, finishedAt } = await runLedger(
      options({ events: 100_000, ratePerSecond: 2000, sendForMs: 300 }),
    );
    const sentIds = received.flatMap((r) => r.ids);
    expect(ledger.length).toBeGreaterThan(0);
    expect(ledger.length).toBeLessThan(100_000);
    expect(new Set(ledger.map((e) => e.id))).toEqual(new Set(sentIds));
    expect(finishedAt - startedAt).toBeLessThan(5000);
  });
});
