// The ingest client's retries against a stand-in API on loopback: what may succeed later is sent
// again with the same events, what says the request is wrong is not.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createIngestClient, IngestError, isRetriableStatus } from "../../../services/producer/sdk.ts";

let server: Server;
let baseUrl: string;
/** Statuses to answer, one per request; then 200. */
let script: number[] = [];
const bodies: string[] = [];

beforeAll(async () => {
  server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      bodies.push(Buffer.concat(chunks).toString());
      const status = script.shift() ?? 200;
      if (status === -200) {
        // An acceptance that breaks off mid-body.
        response.writeHead(200, { "content-type": "application/json", "content-length": "100" });
        response.write('{"accepted":');
        setTimeout(() => response.socket?.destroy(), 20);
        return;
      }
      if (status === 408) {
        // As Node's own request timeout answers: no body, connection closed.
        response.writeHead(408, { connection: "close" });
        response.end();
        return;
      }
      const events = JSON.parse(bodies.at(-1) ?? "[]") as object[];
      const body =
        status === 200
          ? { accepted: events.length, rejected: 0, results: events.map((_, index) => ({ index, status: "accepted" })) }
          : { error: status === 413 ? "BODY_TOO_LARGE" : "OVERLOADED", message: "refused" };
      response.writeHead(status, { "content-type": "application/json", "retry-after": "0" });
      response.end(JSON.stringify(body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});
beforeEach(() => {
  bodies.length = 0;
});

describe("ingest client", () => {
  it("treats no answer, 408, 429 and 5xx as worth retrying, and other 4xx as final", () => {
    expect([0, 408, 429, 500, 502, 503, 504].filter((s) => !isRetriableStatus(s))).toEqual([]);
    expect([400, 401, 403, 404, 413, 415, 422].filter((s) => isRetriableStatus(s))).toEqual([]);
  });

  it("sends the same events again after a 408, a 429 and a 503, then returns the acceptance", async () => {
    script = [408, 429, 503];
    const client = createIngestClient({ baseUrl, attempts: 5 });
    const events = [{ event_id: "a" }, { event_id: "b" }];
    const response = await client.publish("payments", events);
    expect(response).toMatchObject({ status: 200, accepted: 2 });
    expect(bodies).toEqual(Array(4).fill(JSON.stringify(events)));
  });

  it("sends the events again when an acceptance breaks off before its body is read", async () => {
    script = [-200];
    const client = createIngestClient({ baseUrl, attempts: 3 });
    const response = await client.publish("payments", [{ event_id: "a" }]);
    expect(response).toMatchObject({ status: 200, accepted: 1 });
    expect(bodies).toHaveLength(2);
  });

  it("does not retry a request the API calls wrong", async () => {
    script = [413];
    const client = createIngestClient({ baseUrl, attempts: 5 });
    await expect(client.publish("payments", [{ event_id: "a" }])).rejects.toMatchObject({
      status: 413,
      code: "BODY_TOO_LARGE",
    });
    expect(bodies).toHaveLength(1);
  });

  it("reports a bodiless 408 as a 408 when it runs out of attempts", async () => {
    script = [408];
    const client = createIngestClient({ baseUrl, attempts: 1 });
    await expect(client.publish("payments", [{ event_id: "a" }])).rejects.toMatchObject({ status: 408 });
    script = [];
  });

  it("gives up after its attempts, with the last refusal", async () => {
    script = [503, 503, 503];
    const client = createIngestClient({ baseUrl, attempts: 2 });
    const failure = client.publish("payments", [{ event_id: "a" }]);
    await expect(failure).rejects.toBeInstanceOf(IngestError);
    expect(bodies).toHaveLength(2);
    script = [];
  });
});
