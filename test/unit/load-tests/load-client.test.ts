// The bench's load client against a small local HTTP server that answers like the ingest API:
// a count run sends every event exactly once across its connections, and the client's counts
// come from the answers; a failing server shows up as failed requests.
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { runLoad } from "../../../load-tests/bench/load-client.ts";

interface Received {
  ids: string[];
  requests: number;
}

async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

/** Accepts every event but those whose id ends in "7" (rejected), or answers `failStatus`. */
async function startServer(received: Received, failStatus?: number): Promise<{ url: string; server: Server }> {
  const server = createServer((request, response) => {
    readBody(request).then((text) => {
      received.requests += 1;
      if (failStatus) {
        response
          .writeHead(failStatus, { "content-type": "application/json" })
          .end('{"error":"BACK_PRESSURE","message":"retry later"}');
        return;
      }
      const events = JSON.parse(text) as Array<{ event_id: string }>;
      const rejected = events.filter((e) => e.event_id.endsWith("7")).length;
      received.ids.push(...events.map((e) => e.event_id));
      const results = events.map((e, index) => ({ index, status: "accepted", eventId: e.event_id }));
      response
        .writeHead(rejected > 0 ? 207 : 200, { "content-type": "application/json" })
        .end(JSON.stringify({ accepted: events.length - rejected, rejected, results }));
    }, response.destroy.bind(response));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/v1/pipelines/payments/events`, server };
}

describe("load client", () => {
  const servers: Server[] = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
  });

  /** A server for this test only, closed after it. */
  async function serve(failStatus?: number): Promise<{ url: string; received: Received }> {
    const received: Received = { ids: [], requests: 0 };
    const { url, server } = await startServer(received, failStatus);
    servers.push(server);
    return { url, received };
  }

  it("sends each event once in a count run, split over its connections", async () => {
    const { url, received } = await serve();
    const result = await runLoad({
      url,
      mode: "count",
      connections: 3,
      batch: 70,
      events: 1000,
      seed: 5,
      idPrefix: "lc",
    });
    expect(received.ids).toHaveLength(1000);
    expect(new Set(received.ids).size).toBe(1000);
    // 1000 events in bodies of 70: 15 requests (14 full, one of 20).
    expect(received.requests).toBe(15);
    expect(result.requests).toBe(15);
    const rejected = received.ids.filter((id) => id.endsWith("7")).length;
    expect(rejected).toBeGreaterThan(0);
    expect(result.rejected).toBe(rejected);
    expect(result.accepted).toBe(1000 - rejected);
    expect(result.failedRequests).toBe(0);
    expect(result.finishedAt).toBeGreaterThanOrEqual(result.startedAt);
  });

  it("counts answers outside 2xx as failed requests", async () => {
    const { url } = await serve(503);
    const result = await runLoad({
      url,
      mode: "count",
      connections: 2,
      batch: 10,
      events: 40,
      seed: 6,
      idPrefix: "lf",
    });
    expect(result.failedRequests).toBe(4);
    expect(result.accepted).toBe(0);
  });

  it("sends a fixed-rate run's events once, open loop", async () => {
    const { url, received } = await serve();
    const result = await runLoad({
      url,
      mode: "rate",
      connections: 1,
      batch: 5,
      rate: 500,
      seconds: 0.2,
      seed: 7,
      idPrefix: "lr",
    });
    expect(new Set(received.ids).size).toBe(100);
    expect(received.ids).toHaveLength(100);
    expect(result.requests).toBe(20);
    expect(result.accepted + result.rejected).toBe(100);
    expect(result.refusals).toBeUndefined();
  });

  it("counts a fixed-rate run's refusals by status and the API's error code", async () => {
    const { url } = await serve(429);
    const result = await runLoad({
      url,
      mode: "rate",
      connections: 1,
      batch: 5,
      rate: 500,
      seconds: 0.1,
      seed: 8,
      idPrefix: "lx",
    });
    expect(result.accepted).toBe(0);
    expect(result.refusals).toEqual({ "429 BACK_PRESSURE": 10 });
  });
});
