// Seeded synthetic card payments with a known fraud label. Fraud comes as bursts on a compromised
// card: several online payments, larger than usual, at risky merchants, often abroad, within
// minutes; that is what the model can learn (amount, channel, category, country, card velocity).
import { channels, countries, merchantCategories } from "../../shared/pipelines/payments.ts";
import { gaussian, seededRandom, weightedPick } from "../../shared/random.ts";
import { applyDrift, type DriftSpec, driftedLabel, type EventPattern } from "./drift.ts";

export interface PaymentEventRecord {
  event_id: string;
  card_id: string;
  merchant_id: string;
  amount: number;
  currency: string;
  merchant_category: string;
  country: string;
  channel: string;
  card_present: boolean;
  event_time: number;
  device_id: string | null;
}

export interface LabelledPayment {
  event: PaymentEventRecord;
  /** 1 = fraud. */
  label: number;
}

export interface PaymentGeneratorOptions {
  seed: number;
  /** Event time of the first event (ms). */
  startTime: number;
  /** Events per second of event time. */
  ratePerSecond: number;
  /** Cards in circulation; by default 100 per event/s, so each card pays about 36 times an hour. */
  cards?: number;
  /** Share of events that start a fraud burst. */
  fraudBurstShare?: number;
  drift?: DriftSpec;
  /** Prefix of event ids, so separate runs never collide. */
  idPrefix?: string;
  /** Prefix of card ids: separate runs with their own cards keep apart their rolling histories. */
  cardPrefix?: string;
}

const normalCategoryWeights = [30, 15, 25, 8, 6, 1];
const fraudCategoryWeights = [2, 1, 2, 30, 40, 25];
const normalCountryWeights = [40, 20, 20, 15, 4, 1];
const fraudCountryWeights = [15, 5, 5, 5, 40, 30];

/**
 * Concept drifts for payments (`label:concept:<name>@seconds`): a new fraud pattern the shipped
 * model never saw. Small card-present payments at fuel stations (card testing at the pump) look
 * like the most ordinary payments there are, so the model scores them as safe; after the drift
 * they are fraud, while the old bursts stay fraud too.
 */
export const paymentConcepts: Readonly<Record<string, { description: string; pattern: EventPattern }>> = {
  "fuel-fraud": {
    description: "card-present payments under 50 at fuel stations are fraud",
    pattern: { equals: { merchant_category: "fuel", card_present: true }, below: { amount: 50 } },
  },
};

/** An endless, deterministic stream of labelled payments. */
export function* paymentStream(options: PaymentGeneratorOptions): Generator<LabelledPayment> {
  const random = seededRandom(options.seed);
  const cards = options.cards ?? Math.max(10, Math.round(options.ratePerSecond * 100));
  const burstShare = options.fraudBurstShare ?? 0.004;
  const gapMs = 1000 / options.ratePerSecond;
  const prefix = options.idPrefix ?? `p${options.seed}`;
  const cardPrefix = options.cardPrefix ?? "card";
  let burst: { card: string; left: number } | undefined;

  for (let i = 0; ; i += 1) {
    const time = Math.round(options.startTime + i * gapMs);
    if (!burst && random() < burstShare)
      burst = { card: `${cardPrefix}-${Math.floor(random() * cards)}`, left: 3 + Math.floor(random() * 5) };
    const fraud = burst !== undefined;
    const card = burst ? burst.card : `${cardPrefix}-${Math.floor(random() * cards)}`;
    if (burst) {
      burst.left -= 1;
      if (burst.left === 0) burst = undefined;
    }
    const channel = fraud ? weightedPick(random, channels, [5, 90, 5]) : weightedPick(random, channels, [60, 30, 10]);
    const event: PaymentEventRecord = {
      event_id: `${prefix}-${i}`,
      card_id: card,
      merchant_id: `m-${Math.floor(random() * 500)}`,
      amount: Math.round(Math.exp(fraud ? 5.2 + 0.7 * gaussian(random) : 3.2 + 0.9 * gaussian(random)) * 100) / 100,
      currency: "EUR",
      merchant_category: weightedPick(random, merchantCategories, fraud ? fraudCategoryWeights : normalCategoryWeights),
      country: weightedPick(random, countries, fraud ? fraudCountryWeights : normalCountryWeights),
      channel,
      card_present: channel !== "ecom",
      event_time: time,
      device_id: channel === "ecom" ? `dev-${Math.floor(random() * 5000)}` : null,
    };
    const record = event as unknown as Record<string, unknown>;
    applyDrift(record, time, options.drift, random);
    yield { event, label: driftedLabel(record, fraud ? 1 : 0, time, options.drift, random) };
  }
}

export function paymentEvents(count: number, seed: number, startTime = Date.UTC(2026, 0, 1)): PaymentEventRecord[] {
  const out: PaymentEventRecord[] = [];
  for (const { event } of paymentStream({ seed, startTime, ratePerSecond: 20 })) {
    out.push(event);
    if (out.length === count) break;
  }
  return out;
}
