// readTopicToEnd against a fake client: which partitions it pauses, what reaches the callback, and
// when it gives up (only on a stall or past the overall bound, never while it progresses).
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { isStreamscoreError } from "../../../services/shared/errors.ts";
import type { Kafka, KafkaMessage } from "../../../services/shared/kafka/client.ts";
import { readTopicToEnd } from "../../../services/shared/kafka/read-to-end.ts";

const topic = "changelog";

type Listener = (event: { payload: Record<string, unknown> }) => void;
type EachBatch = (payload: { batch: { partition: number; messages: KafkaMessage[] } }) => Promise<void>;

/** A client whose one consumer is driven by the test: it joins with every partition, then waits. */
function fakeKafka(highs: number[]) {
  const listeners = new Map<string, Listener[]>();
  const state = {
    paused: [] as number[],
    eachBatch: undefined as EachBatch | undefined,
    disconnected: false,
    deletedGroups: [] as string[],
    /** Delivers records of a partition as one batch, then the batch end, as kafkajs does. */
    async deliver(partition: number, from: number, to: number) {
      const messages = Array.from({ length: to - from }, (_, i) => ({ offset: String(from + i) }) as KafkaMessage);
      await state.eachBatch?.({ batch: { partition, messages } });
      for (const listener of listeners.get("end") ?? []) {
        listener({ payload: { partition, lastOffset: String(to - 1) } });
      }
    },
  };
  const admin = {
    connect: async () => undefined,
    disconnect: async () => undefined,
    fetchTopicOffsets: async () => highs.map((high, partition) => ({ partition, low: "0", high: String(high) })),
    deleteGroups: async (groups: string[]) => {
      state.deletedGroups.push(...groups);
    },
  };
  const consumer = {
    events: { GROUP_JOIN: "join", END_BATCH_PROCESS: "end" },
    on(event: string, listener: Listener) {
      listeners.set(event, [...(listeners.get(event) ?? []), listener]);
    },
    connect: async () => undefined,
    subscribe: async () => undefined,
    async run({ eachBatch }: { eachBatch: EachBatch }) {
      state.eachBatch = eachBatch;
      const memberAssignment = { [topic]: highs.map((_, partition) => partition) };
      for (const listener of listeners.get("join") ?? []) listener({ payload: { memberAssignment } });
    },
    pause(topicPartitions: Array<{ topic: string; partitions: number[] }>) {
      for (const entry of topicPartitions) if (entry.topic === topic) state.paused.push(...entry.partitions);
    },
    disconnect: async () => {
      state.disconnected = true;
    },
  };
  const kafka = { admin: () => admin, consumer: () => consumer } as unknown as Kafka;
  return { kafka, state };
}

describe("readTopicToEnd", () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it("pauses the unwanted partitions when it joins and passes on only the wanted ones", async () => {
    const { kafka, state } = fakeKafka([5, 3, 4]);
    const seen: number[] = [];
    const read = readTopicToEnd(kafka, topic, (partition) => seen.push(partition), { partitions: [1] });
    await vi.waitFor(() => expect(state.eachBatch).toBeDefined());
    expect(state.paused).toEqual([0, 2]);
    // A fetch under way at the pause still returns partition 0: the guard drops it.
    await state.deliver(0, 0, 5);
    await state.deliver(1, 0, 3);
    expect(await read).toBe(3);
    expect(seen).toEqual([1, 1, 1]);
    expect(state.disconnected).toBe(true);
    expect(state.deletedGroups).toHaveLength(1);
  });

  it("pauses nothing without partitions, and waits for every partition", async () => {
    const { kafka, state } = fakeKafka([2, 2]);
    let finished = false;
    const read = readTopicToEnd(kafka, topic, () => undefined).then((count) => {
      finished = true;
      return count;
    });
    await vi.waitFor(() => expect(state.eachBatch).toBeDefined());
    await state.deliver(0, 0, 2);
    await vi.advanceTimersByTimeAsync(10);
    expect(finished).toBe(false);
    await state.deliver(1, 0, 2);
    expect(await read).toBe(4);
    expect(state.paused).toEqual([]);
  });

  it("passes each record on once when the consumer starts again from the beginning mid-read", async () => {
    const { kafka, state } = fakeKafka([6]);
    const seen: string[] = [];
    const read = readTopicToEnd(kafka, topic, (_, message) => seen.push(message.offset));
    await vi.waitFor(() => expect(state.eachBatch).toBeDefined());
    await state.deliver(0, 0, 4);
    // A rejoin: nothing was committed, so the fetch starts at offset 0 again.
    await state.deliver(0, 0, 6);
    expect(await read).toBe(6);
    expect(seen).toEqual(["0", "1", "2", "3", "4", "5"]);
  });

  it("keeps reading past the stall timeout while records keep coming", async () => {
    const { kafka, state } = fakeKafka([1000]);
    const read = readTopicToEnd(kafka, topic, () => undefined, { stallTimeoutMs: 60_000 });
    await vi.waitFor(() => expect(state.eachBatch).toBeDefined());
    // Ten minutes of a batch every 50 s: slow, but never stalled.
    for (let from = 0; from < 1000; from += 100) {
      await vi.advanceTimersByTimeAsync(50_000);
      await state.deliver(0, from, from + 100);
    }
    expect(await read).toBe(1000);
  });

  it("fails when nothing arrives for the stall timeout", async () => {
    const { kafka, state } = fakeKafka([10]);
    const read = readTopicToEnd(kafka, topic, () => undefined, { stallTimeoutMs: 60_000 });
    const outcome = read.then(
      () => undefined,
      (error: unknown) => error,
    );
    await vi.waitFor(() => expect(state.eachBatch).toBeDefined());
    await state.deliver(0, 0, 4);
    await vi.advanceTimersByTimeAsync(59_000);
    await state.deliver(0, 4, 5);
    await vi.advanceTimersByTimeAsync(61_000);
    const error = await outcome;
    expect(isStreamscoreError(error) && error.retriable).toBe(true);
    expect(String(error)).toContain("stalled");
    expect(state.disconnected).toBe(true);
  });

  it("fails past the overall bound even while it progresses (a positional timeout is that bound)", async () => {
    const { kafka, state } = fakeKafka([1000]);
    const read = readTopicToEnd(kafka, topic, () => undefined, 30_000);
    const outcome = read.then(
      () => undefined,
      (error: unknown) => error,
    );
    await vi.waitFor(() => expect(state.eachBatch).toBeDefined());
    for (let from = 0; from < 400; from += 100) {
      await vi.advanceTimersByTimeAsync(10_000);
      await state.deliver(0, from, from + 100);
    }
    expect(String(await outcome)).toContain("took longer than 30000 ms");
  });
});
