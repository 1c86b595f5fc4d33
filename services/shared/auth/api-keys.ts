// API keys, for the ingest API and the inference API's model changes. A key is `ssk_<id>_<secret>`:
// the id finds the entry, the secret is checked against its SHA-256 (keys carry 256 random bits,
// so a fast hash is enough) in constant time. The store file holds only hashes; each entry is
// scoped to pipelines and to what it may do (publish events, change models), has its own rate
// limit and can be revoked. Pure, except for creating random keys.
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { z } from "zod";

/**
 * What a key may do: publish events (ingest API), change a pipeline's models (inference API),
 * send a pipeline's dead letters back to its raw topic (ingest API).
 */
export const keyScopes = ["publish", "model-admin", "replay", "console"] as const;
export type KeyScope = (typeof keyScopes)[number];

export const keyEntrySchema = z
  .object({
    id: z.string().regex(/^[0-9a-f]{8}$/),
    name: z.string().min(1),
    sha256: z.string().regex(/^[0-9a-f]{64}$/),
    /** Pipelines the key may publish to; "*" for all. */
    pipelines: z.array(z.string().min(1)).min(1),
    ratePerSecond: z.number().positive(),
    /** Keys made before scopes existed may publish only. */
    scopes: z.array(z.enum(keyScopes)).min(1).default(["publish"]),
    revoked: z.boolean().default(false),
  })
  .strict();

export const keyStoreSchema = z.object({ keys: z.array(keyEntrySchema) }).strict();

export type KeyEntry = z.output<typeof keyEntrySchema>;
export type KeyStore = z.output<typeof keyStoreSchema>;

const keyPattern = /^ssk_([0-9a-f]{8})_([A-Za-z0-9_-]{43})$/;

function sha256(text: string): Buffer {
  return createHash("sha256").update(text).digest();
}

/** A new key and the entry to store; the key itself is shown once and never stored. */
export function createKey(options: { name: string; pipelines: string[]; ratePerSecond: number; scopes?: KeyScope[] }): {
  key: string;
  entry: KeyEntry;
} {
  const id = randomBytes(4).toString("hex");
  const secret = randomBytes(32).toString("base64url");
  return {
    key: `ssk_${id}_${secret}`,
    entry: {
      id,
      name: options.name,
      sha256: sha256(secret).toString("hex"),
      pipelines: options.pipelines,
      ratePerSecond: options.ratePerSecond,
      scopes: options.scopes ?? ["publish"],
      revoked: false,
    },
  };
}

export type AuthResult =
  | { ok: true; entry: KeyEntry }
  | { ok: false; status: 401 | 403; reason: string; keyId?: string };

const scopeVerb: Record<KeyScope, string> = {
  publish: "publish to",
  "model-admin": "change the models of",
  replay: "replay the dead letters of",
  console: "view in the console",
};

/** The key a request presents: `Authorization: Bearer <key>` or `X-API-Key: <key>`. */
export function presentedKey(headers: Record<string, string | string[] | undefined>): string | undefined {
  const authorization = headers.authorization;
  if (typeof authorization === "string" && authorization.startsWith("Bearer ")) return authorization.slice(7).trim();
  const header = headers["x-api-key"];
  return typeof header === "string" ? header.trim() : undefined;
}

/** Checks a presented key against the store for a pipeline and a scope. Reasons never contain the key. */
export function authenticate(
  store: KeyStore,
  presented: string | undefined,
  pipeline: string,
  scope: KeyScope = "publish",
): AuthResult {
  if (!presented)
    return { ok: false, status: 401, reason: "missing API key (Authorization: Bearer <key> or X-API-Key)" };
  const match = keyPattern.exec(presented);
  if (!match) return { ok: false, status: 401, reason: "malformed API key" };
  const [, id = "", secret = ""] = match;
  const entry = store.keys.find((k) => k.id === id);
  // Hash and compare even for an unknown id, so timing does not tell which ids exist.
  const expected = Buffer.from(entry?.sha256 ?? "0".repeat(64), "hex");
  const valid = timingSafeEqual(sha256(secret), expected) && entry !== undefined;
  if (!valid || !entry) return { ok: false, status: 401, reason: "unknown API key", keyId: id };
  if (entry.revoked) return { ok: false, status: 401, reason: "revoked API key", keyId: id };
  if (!entry.pipelines.includes("*") && !entry.pipelines.includes(pipeline)) {
    return { ok: false, status: 403, reason: `API key may not ${scopeVerb[scope]} ${pipeline}`, keyId: id };
  }
  if (!entry.scopes.includes(scope)) {
    return { ok: false, status: 403, reason: `API key lacks the ${scope} scope`, keyId: id };
  }
  return { ok: true, entry };
}

/** Token bucket per key: up to one second of burst at the key's rate. */
export class RateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  /** Takes `cost` tokens; returns 0 when allowed, else the seconds to wait. */
  take(entry: KeyEntry, cost: number, nowMs: number): number {
    const capacity = Math.max(entry.ratePerSecond, cost);
    const bucket = this.buckets.get(entry.id) ?? { tokens: capacity, at: nowMs };
    bucket.tokens = Math.min(capacity, bucket.tokens + ((nowMs - bucket.at) / 1000) * entry.ratePerSecond);
    bucket.at = nowMs;
    this.buckets.set(entry.id, bucket);
    if (bucket.tokens >= cost) {
      bucket.tokens -= cost;
      return 0;
    }
    return Math.ceil((cost - bucket.tokens) / entry.ratePerSecond);
  }
}
