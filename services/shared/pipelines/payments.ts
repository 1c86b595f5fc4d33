// Card-payment fraud scoring: the demo pipeline.
import { definePipeline } from "../pipeline/definition.ts";

export const channels = ["pos", "ecom", "atm"];
export const merchantCategories = ["grocery", "fuel", "restaurants", "travel", "electronics", "gambling"];
export const countries = ["GB", "DE", "FR", "NL", "US", "BR"];

export const payments = definePipeline({
  name: "payments",
  description: "Card-payment fraud scoring",
  schema: "payments-event.avsc",
  eventId: "event_id",
  entityKey: "card_id",
  eventTime: "event_time",
  partitions: 3,
  // The card number is the entity key: hashed, so per-card features still work; the device
  // fingerprint feeds nothing and is dropped.
  personal: { card_id: "hash", device_id: "drop" },
  cleaning: {
    required: ["event_id", "card_id", "merchant_id", "amount", "event_time"],
    ranges: { amount: { min: 0, max: 1_000_000 } },
    normalize: ["channel", "merchant_category"],
    defaults: { device_id: "none" },
    allowed: { channel: channels },
    dedupe: { key: "event_id", windowSeconds: 3600 },
  },
  features: [
    { name: "amount", kind: "numeric", source: "amount" },
    { name: "log_amount", kind: "log1p", source: "amount" },
    { name: "channel", kind: "one-hot", source: "channel", categories: channels },
    { name: "merchant_category", kind: "category-index", source: "merchant_category", categories: merchantCategories },
    { name: "country", kind: "category-index", source: "country", categories: countries },
    { name: "card_present", kind: "numeric", source: "card_present" },
    { name: "hour_of_day", kind: "hour-of-day", source: "event_time" },
    { name: "day_of_week", kind: "day-of-week", source: "event_time" },
    { name: "card_txn_count_1h", kind: "rolling", source: "amount", aggregate: "count", windowSeconds: 3600 },
    { name: "card_amount_sum_1h", kind: "rolling", source: "amount", aggregate: "sum", windowSeconds: 3600 },
  ],
  model: { directory: "services/inference/models/payments", name: "payments-fraud" },
  monitoring: {
    // Calendar features are left out: a window of minutes holds one hour of one day, which never
    // looks like a reference spread over the whole day, so they would always read as drift.
    features: [
      "amount",
      "log_amount",
      "channel_ecom",
      "merchant_category",
      "country",
      "card_txn_count_1h",
      "card_amount_sum_1h",
    ],
    // Five minutes of payments at 2 events/s of event time is 600 values a window: enough that
    // sampling noise stays well below the drift thresholds.
    windowSeconds: 300,
    allowedLatenessSeconds: 60,
    // A card's rolling counts and sums move together across a window (the same cards, the same
    // hour), so a window holds fewer independent values than events: a higher PSI bar for them.
    thresholds: { card_txn_count_1h: { psi: 0.25 }, card_amount_sum_1h: { psi: 0.25 } },
    alertAfterWindows: 2,
    resolveAfterWindows: 2,
  },
  // Retrain when two monitored features drift for three windows in a row (15 minutes), or ROC AUC
  // falls below 0.9 on a window with 200 labels; a candidate must beat the champion's AUC by 0.005
  // and lose at most 0.02 on any channel, then shadow for six windows before a person promotes it.
  retraining: {
    drift: { features: 2, windows: 3 },
    quality: { metric: "roc_auc", threshold: 0.9, minLabels: 200 },
    gate: { metric: "roc_auc", margin: 0.005, maxSegmentRegression: 0.02 },
    shadowWindows: 6,
    autoPromote: false,
  },
});
