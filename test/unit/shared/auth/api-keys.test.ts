import { describe, expect, it } from "vitest";
import {
  authenticate,
  createKey,
  type KeyStore,
  keyStoreSchema,
  RateLimiter,
} from "../../../../services/shared/auth/api-keys.ts";

function store(...entries: Array<ReturnType<typeof createKey>["entry"]>): KeyStore {
  return { keys: entries };
}

describe("API keys", () => {
  const payments = createKey({ name: "payments-writer", pipelines: ["payments"], ratePerSecond: 100 });
  const everything = createKey({ name: "admin", pipelines: ["*"], ratePerSecond: 100 });

  it("stores only a hash of the secret", () => {
    expect(payments.key).toMatch(/^ssk_[0-9a-f]{8}_[A-Za-z0-9_-]{43}$/);
    expect(JSON.stringify(payments.entry)).not.toContain(payments.key.slice("ssk_12345678_".length));
  });

  it("grants a valid key for its pipelines only", () => {
    const keys = store(payments.entry, everything.entry);
    expect(authenticate(keys, payments.key, "payments")).toMatchObject({ ok: true });
    expect(authenticate(keys, payments.key, "iris")).toMatchObject({ ok: false, status: 403 });
    expect(authenticate(keys, everything.key, "iris")).toMatchObject({ ok: true });
  });

  it("grants model changes only to a key with the model-admin scope, and such a key only its pipelines", () => {
    const admin = createKey({ name: "ml-ops", pipelines: ["payments"], ratePerSecond: 10, scopes: ["model-admin"] });
    const keys = store(payments.entry, admin.entry);
    expect(authenticate(keys, admin.key, "payments", "model-admin")).toMatchObject({ ok: true });
    expect(authenticate(keys, admin.key, "payments")).toMatchObject({
      ok: false,
      status: 403,
      reason: "API key lacks the publish scope",
    });
    expect(authenticate(keys, payments.key, "payments", "model-admin")).toMatchObject({
      ok: false,
      status: 403,
      reason: "API key lacks the model-admin scope",
    });
    expect(authenticate(keys, admin.key, "iris", "model-admin")).toMatchObject({
      ok: false,
      status: 403,
      reason: "API key may not change the models of iris",
    });
  });

  it("reads a stored key without scopes as a publishing key", () => {
    const { scopes: _, ...old } = payments.entry;
    expect(keyStoreSchema.parse({ keys: [old] }).keys[0]?.scopes).toEqual(["publish"]);
  });

  it("refuses missing, malformed, wrong and revoked keys with 401, naming no secret", () => {
    const keys = store(payments.entry, { ...everything.entry, revoked: true });
    const wrong = `${payments.key.slice(0, -1)}${payments.key.endsWith("A") ? "B" : "A"}`;
    for (const [presented, reason] of [
      [undefined, /missing/],
      ["Bearer", /malformed/],
      [wrong, /unknown/],
      [everything.key, /revoked/],
    ] as const) {
      const result = authenticate(keys, presented, "payments");
      expect(result).toMatchObject({ ok: false, status: 401, reason: expect.stringMatching(reason) });
      expect(JSON.stringify(result)).not.toContain(payments.key.slice("ssk_12345678_".length));
    }
  });

  it("limits each key to its rate, with the wait in whole seconds", () => {
    const limiter = new RateLimiter();
    const entry = { ...payments.entry, ratePerSecond: 10 };
    expect(limiter.take(entry, 10, 0)).toBe(0);
    expect(limiter.take(entry, 5, 0)).toBe(1);
    expect(limiter.take(entry, 5, 500)).toBe(0);
    expect(limiter.take({ ...entry, id: "ffffffff" }, 10, 500)).toBe(0);
  });
});
