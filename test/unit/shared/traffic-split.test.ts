import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { fnv1a32, routesToCanary, splitBucket } from "../../../services/shared/model/traffic-split.ts";

describe("traffic split", () => {
  it("hashes with FNV-1a 32 (the published test vectors)", () => {
    expect(fnv1a32("")).toBe(0x811c9dc5);
    expect(fnv1a32("a")).toBe(0xe40c292c);
    expect(fnv1a32("foobar")).toBe(0xbf9cf968);
  });

  it("sends a share of entities within binomial bounds of the weight", () => {
    const entities = Array.from({ length: 100_000 }, () => randomBytes(12).toString("hex"));
    for (const weight of [1, 10, 37.5]) {
      const share = entities.filter((e) => routesToCanary(e, weight)).length / entities.length;
      const p = weight / 100;
      const sigma = Math.sqrt((p * (1 - p)) / entities.length);
      expect(Math.abs(share - p)).toBeLessThan(5 * sigma);
    }
  });

  it("keeps an entity on one side, and a larger weight only adds entities", () => {
    const entities = Array.from({ length: 5000 }, (_, i) => `card-${i}`);
    for (const entity of entities) {
      expect(routesToCanary(entity, 20)).toBe(routesToCanary(entity, 20));
      if (routesToCanary(entity, 5)) expect(routesToCanary(entity, 20)).toBe(true);
      const bucket = splitBucket(entity);
      expect(bucket).toBeGreaterThanOrEqual(0);
      expect(bucket).toBeLessThan(10_000);
    }
  });
});
