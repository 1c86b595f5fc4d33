import { describe, expect, it } from "vitest";
import { splitBySize, splitTopicsBySize } from "../../../services/shared/kafka/split-by-size.ts";

const message = (bytes: number) => ({ key: "k", value: Buffer.alloc(bytes) });

describe("splitting produce requests by size", () => {
  it("keeps every message, in order, in groups under the limit", () => {
    const messages = Array.from({ length: 100 }, (_, i) => ({ key: String(i), value: Buffer.alloc(10_000) }));
    const groups = splitBySize(messages, 100_000);
    expect(groups.flat()).toEqual(messages);
    for (const group of groups) {
      expect(group.length * (10_000 + 2 + 64)).toBeLessThanOrEqual(100_000);
    }
    expect(groups.length).toBe(Math.ceil(100 / Math.floor(100_000 / 10_066)));
  });

  it("puts a message larger than the limit alone rather than dropping it", () => {
    expect(splitBySize([message(10), message(500), message(10)], 100).map((g) => g.length)).toEqual([1, 1, 1]);
  });

  it("returns no groups for no messages", () => {
    expect(splitBySize([], 100)).toEqual([]);
  });
});

describe("packing several topics into produce requests", () => {
  it("puts small outputs of different topics into one request, in order, without empty topics", () => {
    const a = [message(10), message(10)];
    const b = [message(20)];
    const requests = splitTopicsBySize(
      [
        { topic: "a", messages: a },
        { topic: "empty", messages: [] },
        { topic: "b", messages: b },
      ],
      10_000,
    );
    expect(requests).toEqual([
      [
        { topic: "a", messages: a },
        { topic: "b", messages: b },
      ],
    ]);
  });

  it("starts a new request when the next message would pass the limit, even inside a topic", () => {
    const a = [message(100), message(100), message(100)];
    const b = [message(100), message(100)];
    const requests = splitTopicsBySize(
      [
        { topic: "a", messages: a },
        { topic: "b", messages: b },
      ],
      400,
    );
    for (const request of requests) {
      const bytes = request.flatMap((t) => t.messages).reduce((n, m) => n + (m.value as Buffer).length + 1 + 64, 0);
      expect(bytes).toBeLessThanOrEqual(400);
    }
    expect(requests.map((r) => r.map((t) => `${t.topic}${t.messages.length}`))).toEqual([["a2"], ["a1", "b1"], ["b1"]]);
    expect(
      requests
        .flat()
        .filter((t) => t.topic === "a")
        .flatMap((t) => t.messages),
    ).toEqual(a);
  });

  it("returns no requests when no topic has messages", () => {
    expect(splitTopicsBySize([{ topic: "a", messages: [] }], 100)).toEqual([]);
  });
});
