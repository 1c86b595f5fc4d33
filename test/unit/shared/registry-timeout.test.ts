// A registry that accepts the connection but never answers must not hang the caller.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createSchemaRegistry } from "../../../services/shared/kafka/registry.ts";

describe("schema registry client timeouts", () => {
  let server: Server;
  let url: string;
  let requests = 0;

  beforeAll(async () => {
    server = createServer(() => {
      requests += 1; // never answers
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/apis/ccompat/v7`;
  });
  afterAll(() => {
    server.closeAllConnections();
    server.close();
  });

  it("gives up after three bounded attempts with a retriable error", async () => {
    const registry = createSchemaRegistry(
      { SCHEMA_REGISTRY_URL: url, SCHEMA_REGISTRY_USERNAME: undefined, SCHEMA_REGISTRY_PASSWORD: undefined },
      { requestTimeoutMs: 150 },
    );
    const startedAt = Date.now();
    await expect(registry.latestId("anything-value")).rejects.toMatchObject({
      code: "SCHEMA_REGISTRY_UNAVAILABLE",
      retriable: true,
    });
    expect(Date.now() - startedAt).toBeLessThan(5000);
    expect(requests).toBe(3);
  });
});
