// Seeded, realistic events for the ingest API, for the k6 scripts and for Node (the tests import
// this file too, so it imports nothing and uses only plain JavaScript). The distributions are the
// ones of services/producer/generator/payments.ts and iris.ts: log-normal amounts, the channel,
// merchant category and country weights, fraud bursts on a compromised card, and per-class normal
// iris measurements. Event times are "now" minus a small lag, as epoch milliseconds or ISO-8601.

export const pipelines = ["payments", "iris"];

export const channels = ["pos", "ecom", "atm"];
export const merchantCategories = ["grocery", "fuel", "restaurants", "travel", "electronics", "gambling"];
export const countries = ["GB", "DE", "FR", "NL", "US", "BR"];

const normalChannelWeights = [60, 30, 10];
const fraudChannelWeights = [5, 90, 5];
const normalCategoryWeights = [30, 15, 25, 8, 6, 1];
const fraudCategoryWeights = [2, 1, 2, 30, 40, 25];
const normalCountryWeights = [40, 20, 20, 15, 4, 1];
const fraudCountryWeights = [15, 5, 5, 5, 40, 30];

export const irisClasses = ["setosa", "versicolor", "virginica"];
const irisMeans = [
  [5.006, 3.428, 1.462, 0.246],
  [5.936, 2.77, 4.26, 1.326],
  [6.588, 2.974, 5.552, 2.026],
];
const irisStds = [
  [0.352, 0.379, 0.174, 0.105],
  [0.516, 0.314, 0.47, 0.198],
  [0.636, 0.322, 0.552, 0.275],
];

/** mulberry32, as services/shared/random.ts: the same seed gives the same numbers in k6 and Node. */
export function seededRandom(seed) {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A standard normal draw (Box–Muller). */
export function gaussian(random) {
  const u = 1 - random();
  const v = random();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

export function weightedPick(random, items, weights) {
  const total = weights.reduce((a, b) => a + b, 0);
  let r = random() * total;
  for (let i = 0; i < items.length; i += 1) {
    r -= weights[i];
    if (r < 0) return items[i];
  }
  return items[items.length - 1];
}

/** One seed per VU, so VUs draw different streams while each stays reproducible. */
export function mixSeed(seed, vu) {
  let h = (seed >>> 0) ^ Math.imul((vu >>> 0) + 1, 0x9e3779b1);
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

function eventTime(random, now, maxLagMs, timeFormat) {
  const ms = Math.round(now - random() * maxLagMs);
  const iso = timeFormat === "iso" || (timeFormat === "mixed" && random() < 0.5);
  return iso ? new Date(ms).toISOString() : ms;
}

function paymentMaker(random, options) {
  const cards = options.cards ?? 10000;
  const burstShare = options.fraudBurstShare ?? 0.004;
  let burst;
  return (eventId, now) => {
    if (!burst && random() < burstShare) {
      burst = { card: `card-${Math.floor(random() * cards)}`, left: 3 + Math.floor(random() * 5) };
    }
    const fraud = burst !== undefined;
    const card = burst ? burst.card : `card-${Math.floor(random() * cards)}`;
    if (burst) {
      burst.left -= 1;
      if (burst.left === 0) burst = undefined;
    }
    const channel = weightedPick(random, channels, fraud ? fraudChannelWeights : normalChannelWeights);
    const logAmount = fraud ? 5.2 + 0.7 * gaussian(random) : 3.2 + 0.9 * gaussian(random);
    return {
      event_id: eventId,
      card_id: card,
      merchant_id: `m-${Math.floor(random() * 500)}`,
      amount: Math.round(Math.exp(logAmount) * 100) / 100,
      currency: "EUR",
      merchant_category: weightedPick(random, merchantCategories, fraud ? fraudCategoryWeights : normalCategoryWeights),
      country: weightedPick(random, countries, fraud ? fraudCountryWeights : normalCountryWeights),
      channel,
      card_present: channel !== "ecom",
      event_time: eventTime(random, now, options.maxLagMs, options.timeFormat),
      device_id: channel === "ecom" ? `dev-${Math.floor(random() * 5000)}` : null,
    };
  };
}

function irisMaker(random, options) {
  return (eventId, now) => {
    const label = Math.floor(random() * 3);
    const measure = (k) =>
      Math.max(0.1, Math.round((irisMeans[label][k] + irisStds[label][k] * gaussian(random)) * 10) / 10);
    return {
      event_id: eventId,
      flower_id: `flower-${Math.floor(random() * 300)}`,
      sepal_length: measure(0),
      sepal_width: measure(1),
      petal_length: measure(2),
      petal_width: measure(3),
      event_time: eventTime(random, now, options.maxLagMs, options.timeFormat),
    };
  };
}

/**
 * A stream of events for one VU. Keep one per VU (module scope in a k6 script: every VU has its
 * own copy), so fraud bursts span iterations as they do in the TypeScript generator.
 * Event ids are `<idPrefix>-<vu>-<iteration>-<index in the request>`: unique per VU and iteration
 * within a run, and across runs when the prefix names the run.
 *
 * options: pipeline ("payments" | "iris"), seed, vu, idPrefix, timeFormat ("epoch" | "iso" |
 * "mixed"), maxLagMs (how far behind now event times lie), now (a clock, ms), cards and
 * fraudBurstShare (payments).
 */
export function createEventSource(options = {}) {
  const pipeline = options.pipeline ?? "payments";
  if (!pipelines.includes(pipeline)) {
    throw new Error(`no payload generator for pipeline "${pipeline}"; known: ${pipelines.join(", ")}`);
  }
  const timeFormat = options.timeFormat ?? "mixed";
  if (!["epoch", "iso", "mixed"].includes(timeFormat)) {
    throw new Error(`timeFormat must be epoch, iso or mixed, got "${timeFormat}"`);
  }
  const vu = options.vu ?? 0;
  const prefix = options.idPrefix ?? "k6";
  const clock = options.now ?? (() => Date.now());
  const random = seededRandom(mixSeed(options.seed ?? 1, vu));
  const settings = { ...options, timeFormat, maxLagMs: options.maxLagMs ?? 2000 };
  const make = pipeline === "iris" ? irisMaker(random, settings) : paymentMaker(random, settings);

  function batch(size, iteration) {
    if (!Number.isInteger(size) || size < 1) throw new Error(`batch size must be a positive integer, got ${size}`);
    const now = clock();
    const events = [];
    for (let k = 0; k < size; k += 1) events.push(make(`${prefix}-${vu}-${iteration}-${k}`, now));
    return events;
  }

  return {
    pipeline,
    /** One event for this iteration. */
    event: (iteration) => batch(1, iteration)[0],
    /** `size` events for this iteration. */
    batch,
  };
}

/** A one-off batch: the same events for the same options. */
export function buildBatch(options = {}) {
  return createEventSource(options).batch(options.size ?? 10, options.iteration ?? 0);
}

export const contentTypes = { json: "application/json", ndjson: "application/x-ndjson" };

/** A request body the ingest API takes: one JSON event, a JSON array, or NDJSON (one event a line). */
export function encodeBody(events, format = "json") {
  if (format === "ndjson") return events.map((e) => JSON.stringify(e)).join("\n");
  if (format !== "json") throw new Error(`format must be json or ndjson, got "${format}"`);
  return JSON.stringify(events);
}
