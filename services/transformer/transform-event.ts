// The one feature path: clean → protect personal fields → de-duplicate against the entity's state →
// add to the state → features. The transformer service and the training export both call it, so
// training and serving cannot skew.
import type { PipelineDefinition } from "../shared/pipeline/definition.ts";
import { cleanRecord, type RawRecord } from "./cleaning.ts";
import { addEvent, type EntityState, emptyEntityState, isDuplicate, type StateRetention } from "./entity-state.ts";
import { computeFeatures } from "./features.ts";

export type TransformOutcome =
  | { kind: "rejected"; field: string; reason: string }
  | { kind: "duplicate" }
  | {
      kind: "transformed";
      /** The cleaned (and protected) event. */
      event: RawRecord;
      entity: string;
      eventId: string;
      eventTime: number;
      /** Ids of the entity's events that left every window with this one. */
      evicted: string[];
      features: number[];
    };

export interface FeaturePath {
  definition: PipelineDefinition;
  retention: StateRetention;
  /** Replaces personal fields in place (hashes or drops them); absent offline. */
  protect?: (event: RawRecord) => void;
}

/** Runs one raw event through the feature path; `entities` is the state it reads and updates. */
export function transformEvent(
  path: FeaturePath,
  entities: Map<string, EntityState>,
  raw: RawRecord,
  now: number,
): TransformOutcome {
  const { definition, retention } = path;
  const cleaned = cleanRecord(definition.cleaning, definition.eventTime, raw, now);
  if (!cleaned.ok) return { kind: "rejected", field: cleaned.field, reason: cleaned.reason };
  const event = cleaned.record;
  path.protect?.(event);
  const entity = String(event[definition.entityKey]);
  const eventId = String(event[definition.cleaning.dedupe.key]);
  const eventTime = Number(event[definition.eventTime]);
  let state = entities.get(entity);
  if (!state) {
    state = emptyEntityState(retention);
    entities.set(entity, state);
  }
  if (isDuplicate(state, retention, eventId)) return { kind: "duplicate" };
  const evicted = addEvent(state, retention, eventId, eventTime, event);
  return {
    kind: "transformed",
    event,
    entity,
    eventId,
    eventTime,
    evicted,
    features: computeFeatures(definition, event, state),
  };
}
