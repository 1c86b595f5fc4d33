import { describe, expect, it } from "vitest";
import { payments } from "../../../services/shared/pipelines/payments.ts";
import { cleanRecord } from "../../../services/transformer/cleaning.ts";

const now = Date.UTC(2026, 5, 1, 12);
const good = {
  event_id: "e1",
  card_id: "c1",
  merchant_id: "m1",
  amount: 12.5,
  currency: "EUR",
  merchant_category: " Grocery ",
  country: "GB",
  channel: "POS",
  card_present: true,
  event_time: now - 1000,
  device_id: null,
};

function clean(overrides: Record<string, unknown>) {
  return cleanRecord(payments.cleaning, payments.eventTime, { ...good, ...overrides }, now);
}

describe("cleaning rules", () => {
  it("normalizes strings and fills defaults on an accepted event", () => {
    const result = clean({});
    expect(result).toEqual({
      ok: true,
      record: { ...good, merchant_category: "grocery", channel: "pos", device_id: "none" },
    });
  });

  it("does not change the input record", () => {
    const input = { ...good };
    cleanRecord(payments.cleaning, payments.eventTime, input, now);
    expect(input).toEqual(good);
  });

  it.each([
    [{ card_id: "" }, "card_id", "is required"],
    [{ merchant_id: null }, "merchant_id", "is required"],
    [{ amount: Number.NaN }, "amount", "is NaN, not a finite number"],
    [{ amount: Number.POSITIVE_INFINITY }, "amount", "is Infinity, not a finite number"],
    [{ amount: -1 }, "amount", "-1 is below the minimum 0"],
    [{ amount: 2_000_000 }, "amount", "2000000 is above the maximum 1000000"],
    [{ channel: "phone" }, "channel", '"phone" is not one of pos, ecom, atm'],
    [{ event_time: now + 3_600_000 }, "event_time", "is 3600 s in the future"],
  ])("rejects %o naming %s", (overrides, field, reason) => {
    expect(clean(overrides)).toEqual({ ok: false, field, reason });
  });

  it("accepts events at the edges of the ranges and of the future skew", () => {
    expect(clean({ amount: 0 }).ok).toBe(true);
    expect(clean({ amount: 1_000_000 }).ok).toBe(true);
    expect(clean({ event_time: now + 300_000 }).ok).toBe(true);
  });
});
