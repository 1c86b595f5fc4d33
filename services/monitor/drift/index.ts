// The drift statistics' public surface: batch parity with Evidently, and the streaming mode the
// monitor runs on frozen reference profiles.
export type { ChiSquareResult } from "./chi-square.ts";
export {
  type Dtype,
  distinctCount,
  type EvidentlyColumnType,
  INTEGER_CARDINALITY_LIMIT,
  type InferredColumnType,
  inferColumnType,
  inferDtype,
} from "./column-type.ts";
export type { JensenShannon } from "./jensen-shannon.ts";
export { KllSketch, type KllState } from "./kll.ts";
export type { KsMethod, KsResult } from "./ks.ts";
export {
  DATASET_DRIFT_SHARE,
  type DatasetDrift,
  type DefaultTest,
  datasetDrift,
  defaultStatTest,
  type FeatureType,
  type ParityCategoricalResult,
  type ParityNumericalResult,
  type ParityOptions,
  type ParityResult,
  parity,
  parityCategorical,
  parityNumerical,
  type StatTestName,
} from "./parity.ts";
export type { RawCategory, RawNumber, WindowQuality } from "./quality.ts";
export {
  buildReferenceProfile,
  CategoricalAccumulator,
  type CategoricalProfile,
  type CategoricalStreamingStatistics,
  createWindow,
  DEFAULT_BINS,
  EMPTY_BIN_SHARE,
  NumericalAccumulator,
  type NumericalProfile,
  type NumericalStreamingStatistics,
  payloadBytes,
  REPORTED_QUANTILES,
  type ReferenceProfile,
  SKETCH_DELTA,
  SKETCH_K,
  SKETCH_TAIL,
  type SketchOptions,
  type StreamingDefaultTest,
  type StreamingStatistics,
  streamingDefaultTest,
  streamingStatistics,
  streamingVerdicts,
  type WindowAccumulator,
} from "./streaming.ts";
export type { TTestResult } from "./t-test.ts";
export {
  type DriftThresholds,
  defaultThresholds,
  evaluateDrift,
  type StatisticName,
  type Threshold,
  type ThresholdRule,
  type Verdict,
} from "./thresholds.ts";
export { WindowSketch, type WindowSketchState } from "./window-sketch.ts";
export type { ZTestResult } from "./z-test.ts";
