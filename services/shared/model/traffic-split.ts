// Which model decides for an entity while a canary runs: a stable hash of the entity key, so one
// card always sees the same model, the split is reproducible anywhere (SQL included), and a weight
// change moves only the entities between the old and the new boundary. Pure.

/** Buckets per 100%: weights have two decimals. */
export const splitBuckets = 10_000;

/** FNV-1a (32 bit) of the key's UTF-8 bytes. */
export function fnv1a32(key: string): number {
  let hash = 0x811c9dc5;
  for (const byte of Buffer.from(key, "utf8")) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash;
}

/** The entity's bucket, 0 ≤ bucket < 10,000. */
export function splitBucket(entity: string): number {
  return fnv1a32(entity) % splitBuckets;
}

/** True when the entity's records go to a canary that takes `weightPercent` of entities. */
export function routesToCanary(entity: string, weightPercent: number): boolean {
  return splitBucket(entity) < Math.round(weightPercent * 100);
}
