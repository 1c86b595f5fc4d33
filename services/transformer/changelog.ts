// The transformer's state as a compacted changelog topic: one small record per event still in a
// window, keyed by entity and event id, and a tombstone when the event leaves every window. Writing
// each entity's whole history instead made every event cost its entity's state again (megabytes a
// second for busy cards) and left restores reading gigabytes. Plain Avro: the topic is internal, so
// it needs no registry round trip.
import avro from "avsc";
import { encodeAvro } from "../shared/kafka/avro-codec.ts";

/** An event as the state keeps it: enough to add it again on restore. */
export interface StateEvent {
  entity: string;
  eventId: string;
  time: number;
  /** The values rolling features aggregate, by source field. */
  values: Record<string, number>;
}

const stateEventType = avro.Type.forSchema({
  type: "record",
  name: "StateEvent",
  namespace: "streamscore.transformer",
  fields: [
    { name: "entity", type: "string" },
    { name: "eventId", type: "string" },
    { name: "time", type: "double" },
    { name: "values", type: { type: "map", values: "double" } },
  ],
});

/** A JSON pair: unambiguous whatever the entity and id contain, so compaction never folds two events. */
export function changelogKey(entity: string, eventId: string): string {
  return JSON.stringify([entity, eventId]);
}

export function encodeStateEvent(event: StateEvent): Buffer {
  return encodeAvro(stateEventType, event);
}

/**
 * The event a changelog record holds, or undefined for a record of another form (the whole-entity
 * records of earlier versions), which a restore skips.
 */
export function decodeStateEvent(key: string, value: Buffer): StateEvent | undefined {
  try {
    const event = stateEventType.fromBuffer(value) as StateEvent;
    return changelogKey(event.entity, event.eventId) === key ? event : undefined;
  } catch {
    return undefined;
  }
}
