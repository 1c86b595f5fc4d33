// The classic Iris classifier: four measurements in, a class out.
import { definePipeline } from "../pipeline/definition.ts";

export const iris = definePipeline({
  name: "iris",
  description: "Iris species classifier",
  schema: "iris-event.avsc",
  eventId: "event_id",
  entityKey: "flower_id",
  eventTime: "event_time",
  partitions: 3,
  cleaning: {
    required: ["event_id", "flower_id", "sepal_length", "sepal_width", "petal_length", "petal_width", "event_time"],
    ranges: {
      sepal_length: { min: 0, max: 20 },
      sepal_width: { min: 0, max: 20 },
      petal_length: { min: 0, max: 20 },
      petal_width: { min: 0, max: 20 },
    },
    dedupe: { key: "event_id", windowSeconds: 3600 },
  },
  features: [
    { name: "sepal_length", kind: "numeric", source: "sepal_length" },
    { name: "sepal_width", kind: "numeric", source: "sepal_width" },
    { name: "petal_length", kind: "numeric", source: "petal_length" },
    { name: "petal_width", kind: "numeric", source: "petal_width" },
  ],
  model: { directory: "services/inference/models/iris", name: "iris-classifier" },
});
