// The transactional processor while a state restore runs longer than the session timeout: a batch
// waiting for it keeps heartbeating, and leaves (unprocessed) when the group rebalances or the
// consumer stops, so the member can join again instead of being dropped from the group.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { Kafka, KafkaMessage } from "../../../services/shared/kafka/client.ts";
import { createTransactionalProcessor } from "../../../services/shared/kafka/transactional-processor.ts";
import { createLogger } from "../../../services/shared/logger.ts";

const inputTopic = "raw";

interface BatchPayload {
  batch: { partition: number; messages: KafkaMessage[]; highWatermark: string };
  resolveOffset(offset: string): void;
  heartbeat(): Promise<void>;
  isRunning(): boolean;
  isStale(): boolean;
}

/** A client whose consumer the test drives; the group's committed offset of partition 0 is 5. */
function fakeKafka() {
  const joins: Array<(event: { payload: { memberAssignment: Record<string, number[]> } }) => void> = [];
  const state = { eachBatch: undefined as ((payload: BatchPayload) => Promise<void>) | undefined };
  const consumer = {
    events: { GROUP_JOIN: "join" },
    on(_event: string, listener: (typeof joins)[number]) {
      joins.push(listener);
    },
    connect: async () => undefined,
    subscribe: async () => undefined,
    async run({ eachBatch }: { eachBatch: (payload: BatchPayload) => Promise<void> }) {
      state.eachBatch = eachBatch;
    },
    disconnect: async () => undefined,
  };
  const kafka = {
    consumer: () => consumer,
    producer: () => ({
      connect: async () => undefined,
      disconnect: async () => undefined,
      // The empty transaction that fences a partition's previous owner.
      transaction: async () => ({ abort: async () => undefined }),
    }),
    admin: () => ({
      connect: async () => undefined,
      disconnect: async () => undefined,
      fetchOffsets: async () => [{ topic: inputTopic, partitions: [{ partition: 0, offset: "5" }] }],
    }),
  } as unknown as Kafka;
  const join = (partitions: number[]) => {
    for (const listener of joins) listener({ payload: { memberAssignment: { [inputTopic]: partitions } } });
  };
  return { kafka, state, join };
}

/** A restore the test finishes by hand. */
function manualRestore() {
  let finish: () => void = () => {};
  const calls: number[][] = [];
  return {
    calls,
    finish: () => finish(),
    restore: (partitions: number[]) => {
      calls.push(partitions);
      return new Promise<void>((resolve) => {
        finish = resolve;
      });
    },
  };
}

/** A batch of records 0..4 of partition 0, all below the committed offset: nothing to process. */
function batchPayload(overrides: Partial<BatchPayload> = {}) {
  const resolved: string[] = [];
  const payload: BatchPayload = {
    batch: {
      partition: 0,
      messages: Array.from({ length: 5 }, (_, i) => ({ offset: String(i) }) as KafkaMessage),
      highWatermark: "5",
    },
    resolveOffset: (offset) => resolved.push(offset),
    heartbeat: vi.fn(async () => undefined),
    isRunning: () => true,
    isStale: () => false,
    ...overrides,
  };
  return { payload, resolved };
}

describe("transactional processor during a long restore", () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  function setup() {
    const fake = fakeKafka();
    const restore = manualRestore();
    const processed: number[] = [];
    const processor = createTransactionalProcessor({
      kafka: fake.kafka,
      logger: createLogger({ name: "transactional-processor-test", level: "silent" }),
      service: "test",
      groupId: "group",
      inputTopic,
      maxBatchRecords: 100,
      partitionsConsumedConcurrently: 1,
      process: async (partition) => {
        processed.push(partition);
        return [];
      },
      restore: restore.restore,
    });
    return { ...fake, restore, processed, processor };
  }

  it("heartbeats every 3 s while the batch waits for the restore, and stops when it is done", async () => {
    const { state, join, restore, processed, processor } = setup();
    await processor.start();
    join([0]);
    const { payload, resolved } = batchPayload();
    const batch = state.eachBatch?.(payload);
    await vi.advanceTimersByTimeAsync(90_000);
    expect(restore.calls).toEqual([[0]]);
    expect(payload.heartbeat).toHaveBeenCalledTimes(30);
    expect(processor.ready).toBe(false);
    restore.finish();
    await batch;
    expect(processor.ready).toBe(true);
    // Everything below the committed offset is skipped, not processed again.
    expect(resolved).toEqual(["4"]);
    expect(processed).toEqual([]);
    await vi.advanceTimersByTimeAsync(30_000);
    expect(payload.heartbeat).toHaveBeenCalledTimes(30);
  });

  it("swallows a failed heartbeat that is not a rebalance and keeps waiting", async () => {
    const { state, join, restore, processor } = setup();
    await processor.start();
    join([0]);
    const heartbeat = vi.fn(async () => {
      throw new Error("connection reset");
    });
    const { payload, resolved } = batchPayload({ heartbeat });
    let returned = false;
    const batch = state.eachBatch?.(payload).then(() => {
      returned = true;
    });
    await vi.advanceTimersByTimeAsync(10_000);
    expect(heartbeat).toHaveBeenCalledTimes(3);
    expect(returned).toBe(false);
    restore.finish();
    await batch;
    expect(resolved).toEqual(["4"]);
  });

  it("leaves the batch unresolved when a heartbeat reports a rebalance, while the restore goes on", async () => {
    const { state, join, restore, processed, processor } = setup();
    await processor.start();
    join([0]);
    const heartbeat = vi.fn(async () => {
      throw Object.assign(new Error("The group is rebalancing"), { type: "REBALANCE_IN_PROGRESS" });
    });
    const { payload, resolved } = batchPayload({ heartbeat });
    const batch = state.eachBatch?.(payload);
    await vi.advanceTimersByTimeAsync(3_000);
    await batch;
    expect(resolved).toEqual([]);
    expect(processed).toEqual([]);
    expect(processor.ready).toBe(false);
    // The next join restores again; the read under way is not duplicated meanwhile.
    expect(restore.calls).toEqual([[0]]);
    restore.finish();
    await vi.advanceTimersByTimeAsync(0);
    expect(processor.ready).toBe(true);
  });

  it("leaves the batch unresolved when the consumer stops during the restore", async () => {
    const { state, join, processed, processor } = setup();
    await processor.start();
    join([0]);
    let running = true;
    const { payload, resolved } = batchPayload({ isRunning: () => running });
    const batch = state.eachBatch?.(payload);
    await vi.advanceTimersByTimeAsync(6_000);
    running = false;
    await vi.advanceTimersByTimeAsync(3_000);
    await batch;
    expect(resolved).toEqual([]);
    expect(processed).toEqual([]);
  });
});
