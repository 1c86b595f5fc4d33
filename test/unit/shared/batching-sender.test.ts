import { describe, expect, it, vi } from "vitest";
import { createBatchingSender } from "../../../services/shared/kafka/batching-sender.ts";
import { needsNewProducerId, type Producer } from "../../../services/shared/kafka/client.ts";

/** What kafkajs throws when the broker refuses a producer's sequence numbers. */
function protocolError(type: string): Error {
  return Object.assign(new Error(`broker answered ${type}`), { type, retriable: false });
}

function fakeProducer(fail: Error | undefined): Producer & { sends: number } {
  const fake = {
    sends: 0,
    async sendBatch() {
      fake.sends += 1;
      if (fail) throw fail;
      return [];
    },
  };
  return fake as unknown as Producer & { sends: number };
}

describe("batching sender with a broken producer id", () => {
  it("replaces the producer after OUT_OF_ORDER_SEQUENCE_NUMBER and sends with the new one", async () => {
    const broken = fakeProducer(protocolError("OUT_OF_ORDER_SEQUENCE_NUMBER"));
    const fresh = fakeProducer(undefined);
    const renewed: Producer[] = [];
    const sender = createBatchingSender(broken, {
      lingerMs: 1,
      maxBatchRecords: 100,
      timeoutMs: 1000,
      renewProducer: async (old) => {
        renewed.push(old);
        return fresh;
      },
    });
    await expect(sender.send("t", [{ value: "a" }])).rejects.toThrow("OUT_OF_ORDER_SEQUENCE_NUMBER");
    await sender.send("t", [{ value: "b" }]);
    expect(renewed).toEqual([broken]);
    expect([broken.sends, fresh.sends]).toEqual([1, 1]);
  });

  it("keeps the producer after other failures", async () => {
    const flaky = fakeProducer(protocolError("REQUEST_TIMED_OUT"));
    let renewals = 0;
    const sender = createBatchingSender(flaky, {
      lingerMs: 1,
      maxBatchRecords: 100,
      timeoutMs: 1000,
      renewProducer: async () => {
        renewals += 1;
        return fakeProducer(undefined);
      },
    });
    await expect(sender.send("t", [{ value: "a" }])).rejects.toThrow();
    await expect(sender.send("t", [{ value: "b" }])).rejects.toThrow();
    expect([renewals, flaky.sends]).toEqual([0, 2]);
  });

  it("recognises the error wrapped as a cause or inside an aggregate", () => {
    const inner = protocolError("UNKNOWN_PRODUCER_ID");
    expect(needsNewProducerId(Object.assign(new Error("retries exhausted"), { cause: inner }))).toBe(true);
    expect(needsNewProducerId(Object.assign(new Error("several"), { errors: [new Error("x"), inner] }))).toBe(true);
    expect(needsNewProducerId(new Error("connection refused"))).toBe(false);
    expect(needsNewProducerId(undefined)).toBe(false);
  });
});

describe("batching sender queueing delay", () => {
  it("tells how long the oldest unacknowledged record has waited, across batches sent one after another", async () => {
    vi.useFakeTimers();
    try {
      const answers: Array<() => void> = [];
      const slow = {
        sendBatch: () => new Promise<void>((resolve) => answers.push(resolve)),
      } as unknown as Producer;
      const sender = createBatchingSender(slow, { lingerMs: 5, maxBatchRecords: 1000, timeoutMs: 30_000 });
      expect(sender.oldestPendingMs).toBe(0);
      const first = sender.send("t", [{ value: "a" }]);
      await vi.advanceTimersByTimeAsync(100);
      const second = sender.send("t", [{ value: "b" }]);
      await vi.advanceTimersByTimeAsync(400);
      // The first batch waits for its answer, the second behind it: the first record is 500 ms old.
      expect(sender.oldestPendingMs).toBe(500);
      answers.shift()?.();
      await first;
      await vi.advanceTimersByTimeAsync(0);
      expect(sender.oldestPendingMs).toBe(400);
      answers.shift()?.();
      await second;
      expect(sender.oldestPendingMs).toBe(0);
    } finally {
      vi.useRealTimers();
    }
  });
});
