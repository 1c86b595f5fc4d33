// Seeded synthetic Iris measurements: each species drawn from a normal distribution with the
// per-class means and standard deviations of Fisher's Iris data set.
import { gaussian, seededRandom } from "../../shared/random.ts";
import { applyDrift, type DriftSpec } from "./drift.ts";

export const irisClasses = ["setosa", "versicolor", "virginica"];

const classMeans = [
  [5.006, 3.428, 1.462, 0.246],
  [5.936, 2.77, 4.26, 1.326],
  [6.588, 2.974, 5.552, 2.026],
];
const classStds = [
  [0.352, 0.379, 0.174, 0.105],
  [0.516, 0.314, 0.47, 0.198],
  [0.636, 0.322, 0.552, 0.275],
];

export interface IrisEventRecord {
  event_id: string;
  flower_id: string;
  sepal_length: number;
  sepal_width: number;
  petal_length: number;
  petal_width: number;
  event_time: number;
}

export interface LabelledIris {
  event: IrisEventRecord;
  /** Class index into irisClasses. */
  label: number;
}

export function* irisStream(options: {
  seed: number;
  startTime: number;
  ratePerSecond: number;
  drift?: DriftSpec;
  idPrefix?: string;
}): Generator<LabelledIris> {
  const random = seededRandom(options.seed);
  const prefix = options.idPrefix ?? `i${options.seed}`;
  for (let i = 0; ; i += 1) {
    const time = Math.round(options.startTime + (i * 1000) / options.ratePerSecond);
    const label = Math.floor(random() * 3);
    const means = classMeans[label] ?? [];
    const stds = classStds[label] ?? [];
    const measure = (k: number) =>
      Math.max(0.1, Math.round(((means[k] ?? 0) + (stds[k] ?? 0) * gaussian(random)) * 10) / 10);
    const event: IrisEventRecord = {
      event_id: `${prefix}-${i}`,
      flower_id: `flower-${Math.floor(random() * 300)}`,
      sepal_length: measure(0),
      sepal_width: measure(1),
      petal_length: measure(2),
      petal_width: measure(3),
      event_time: time,
    };
    applyDrift(event as unknown as Record<string, unknown>, time, options.drift, random);
    yield { event, label };
  }
}
