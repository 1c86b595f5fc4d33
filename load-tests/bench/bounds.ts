// What a stage (or the whole pipeline) could reach if its only costs were the raw limits of the
// parts it uses, run one after the other on the same records: 1 / Σ(1 / limit). Pure.

export interface Part {
  /** Names a raw limit, e.g. "kafka hop" or "avro decode raw". */
  name: string;
  /** Records per second of that part alone. */
  rate: number;
}

/** Harmonic bound of parts used in sequence; undefined when any part has no positive rate. */
export function boundOf(parts: readonly Part[]): number | undefined {
  if (parts.length === 0 || parts.some((p) => !(p.rate > 0) || !Number.isFinite(p.rate))) return undefined;
  return 1 / parts.reduce((sum, p) => sum + 1 / p.rate, 0);
}

/** measured / reference, or undefined when either is missing or the reference is not positive. */
export function ratio(measured: number | undefined, reference: number | undefined): number | undefined {
  if (measured === undefined || reference === undefined || !(reference > 0)) return undefined;
  return measured / reference;
}

export interface Target {
  /** What is checked, as the issue states it. */
  label: string;
  /** "min": value ≥ threshold passes; "max": value < threshold passes. */
  kind: "min" | "max";
  threshold: number;
}

/** true / false, or undefined when the value could not be measured. */
export function meets(target: Target, value: number | undefined): boolean | undefined {
  if (value === undefined || Number.isNaN(value)) return undefined;
  return target.kind === "min" ? value >= target.threshold : value < target.threshold;
}

/** The parts each stage uses, from the raw limits by name; the pipeline uses all of them. */
export interface StageParts {
  ingest: Part[];
  transformer: Part[];
  inference: Part[];
  sink: Part[];
}

export function pipelineParts(stages: StageParts): Part[] {
  return [...stages.ingest, ...stages.transformer, ...stages.inference, ...stages.sink];
}
