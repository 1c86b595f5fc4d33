import { describe, expect, it } from "vitest";
import { StreamscoreError } from "../../../services/shared/errors.ts";
import { withBackoff } from "../../../services/shared/retry.ts";

describe("withBackoff", () => {
  it("retries a retriable error with doubling waits up to the cap, then returns the result", async () => {
    const waits: number[] = [];
    const retries: boolean[] = [];
    let calls = 0;
    const result = await withBackoff(
      async (retry) => {
        retries.push(retry);
        calls += 1;
        if (calls < 4) throw new StreamscoreError("CLICKHOUSE_UNAVAILABLE", "away");
        return "stored";
      },
      { maxBackoffMs: 500, onRetry: (_error, backoffMs) => waits.push(backoffMs) },
    );
    expect(result).toBe("stored");
    expect(waits).toEqual([200, 400, 500]);
    expect(retries).toEqual([false, true, true, true]);
  });

  it("throws a non-retriable error at once", async () => {
    let calls = 0;
    const failing = withBackoff(
      async () => {
        calls += 1;
        throw new StreamscoreError("CLICKHOUSE_QUERY_FAILED", "no such table");
      },
      { maxBackoffMs: 500 },
    );
    await expect(failing).rejects.toMatchObject({ code: "CLICKHOUSE_QUERY_FAILED" });
    expect(calls).toBe(1);
  });

  it("stops when shouldRetry says so, even for a retriable error", async () => {
    const failing = withBackoff(
      async () => {
        throw new StreamscoreError("KAFKA_UNAVAILABLE", "down");
      },
      { maxBackoffMs: 500, shouldRetry: () => false },
    );
    await expect(failing).rejects.toMatchObject({ code: "KAFKA_UNAVAILABLE" });
  });
});
