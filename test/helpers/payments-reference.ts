// The shipped payments model's version-1 reference as the drift monitor builds it, and the context a
// window of it is evaluated in: for unit tests of window evaluation and window parts.
import { join } from "node:path";
import { defaultThresholds } from "../../services/monitor/drift/thresholds.ts";
import { featureThresholds } from "../../services/monitor/windowing/evaluation.ts";
import { loadVersionReference } from "../../services/monitor/windowing/reference.ts";
import { featureNames } from "../../services/shared/pipeline/definition.ts";
import { getPipeline } from "../../services/shared/pipelines/index.ts";
import { projectRoot } from "../../services/shared/project.ts";

export const definition = getPipeline("payments");
export const { monitoring } = definition;
export const names = featureNames(definition);
export const reference = loadVersionReference(
  join(projectRoot, definition.model.directory, "1"),
  names,
  monitoring.features,
  monitoring.bins,
);
export const context = {
  pipeline: "payments",
  monitoring,
  thresholdsFor: (feature: string) => featureThresholds(defaultThresholds, monitoring, feature),
  computedAtSeconds: 1_767_225_600,
};
