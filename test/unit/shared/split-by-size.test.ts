import { describe, expect, it } from "vitest";
import { splitBySize } from "../../../services/shared/kafka/split-by-size.ts";

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
