// The transformer's per-entity state as records of a compacted changelog topic (key = entity),
// in plain Avro: the topic is internal, so it needs no registry round trip.
import avro from "avsc";
import { encodeAvro } from "../shared/kafka/avro-codec.ts";
import type { EntityState, EntityStateSnapshot } from "./entity-state.ts";
import { restoreState, snapshotState } from "./entity-state.ts";

const snapshotType = avro.Type.forSchema({
  type: "record",
  name: "EntityStateSnapshot",
  namespace: "streamscore.transformer",
  fields: [
    { name: "times", type: { type: "array", items: "long" } },
    { name: "values", type: { type: "map", values: { type: "array", items: "double" } } },
    { name: "seenIds", type: { type: "array", items: "string" } },
    { name: "seenTimes", type: { type: "array", items: "long" } },
    { name: "maxTime", type: "double" },
  ],
});

export function encodeState(state: EntityState): Buffer {
  return encodeAvro(snapshotType, snapshotState(state));
}

export function decodeState(value: Buffer): EntityState {
  return restoreState(snapshotType.fromBuffer(value) as EntityStateSnapshot);
}
