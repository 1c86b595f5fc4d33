// The transformer's metrics (README has the table).
import { Counter, createConsumerMetrics, Gauge, type Registry } from "../shared/metrics.ts";

export function createTransformerMetrics(registry: Registry) {
  return {
    ...createConsumerMetrics(registry),
    duplicates: new Counter({
      name: "streamscore_duplicates_dropped_total",
      help: "Events dropped because their id was seen within the de-duplication window",
      labelNames: ["pipeline"],
      registers: [registry],
    }),
    entities: new Gauge({
      name: "streamscore_transformer_entities",
      help: "Entities with state in memory",
      labelNames: ["pipeline"],
      registers: [registry],
    }),
    restoredRecords: new Counter({
      name: "streamscore_state_restored_records_total",
      help: "Changelog records read to restore state",
      labelNames: ["pipeline"],
      registers: [registry],
    }),
  };
}

export type TransformerMetrics = ReturnType<typeof createTransformerMetrics>;
