import { describe, expect, it } from "vitest";
import { paymentStream } from "../../../services/producer/generator/payments.ts";
import { featureNames } from "../../../services/shared/pipeline/definition.ts";
import { getPipeline } from "../../../services/shared/pipelines/index.ts";
import { type EntityState, stateRetention } from "../../../services/transformer/entity-state.ts";
import { transformEvent } from "../../../services/transformer/transform-event.ts";

const definition = getPipeline("payments");
const path = { definition, retention: stateRetention(definition) };

function payments(count: number): Array<Record<string, unknown>> {
  const stream = paymentStream({ seed: 5, startTime: Date.parse("2026-03-01T00:00:00Z"), ratePerSecond: 2, cards: 3 });
  return Array.from({ length: count }, () => ({ ...(stream.next().value?.event as object) }));
}

describe("transformEvent", () => {
  it("gives features, adds to the entity's state, and flags the same event id again as a duplicate", () => {
    const entities = new Map<string, EntityState>();
    const [first] = payments(1);
    const now = Number(first?.event_time) + 1000;
    const outcome = transformEvent(path, entities, { ...first }, now);
    expect(outcome.kind).toBe("transformed");
    if (outcome.kind !== "transformed") return;
    expect(outcome.entity).toBe(String(first?.card_id));
    expect(outcome.features).toHaveLength(featureNames(definition).length);
    expect(entities.get(outcome.entity)?.seen.has(outcome.eventId)).toBe(true);
    expect(transformEvent(path, entities, { ...first }, now).kind).toBe("duplicate");
  });

  it("rejects an event that cleaning refuses, naming the field, and leaves the state alone", () => {
    const entities = new Map<string, EntityState>();
    const [event] = payments(1);
    const outcome = transformEvent(path, entities, { ...event, event_id: undefined }, Date.now());
    expect(outcome).toMatchObject({ kind: "rejected", field: "event_id" });
    expect(entities.size).toBe(0);
  });

  it("lets a card's later payments see its earlier ones: the same events give the same features in a new state", () => {
    const events = payments(40);
    const run = () => {
      const entities = new Map<string, EntityState>();
      return events.map((event) => {
        const outcome = transformEvent(path, entities, { ...event }, Number(event.event_time));
        return outcome.kind === "transformed" ? outcome.features : [];
      });
    };
    const first = run();
    expect(first).toEqual(run());
    // With 3 cards, the rolling features of later payments differ from a card's first payment.
    expect(new Set(first.map((f) => f.join())).size).toBeGreaterThan(1);
  });
});
