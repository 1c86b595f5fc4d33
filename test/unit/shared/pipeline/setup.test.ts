// Which partition counts a pipeline's topics may have: the topics that keep the raw partition need
// at least the raw topic's.
import { describe, expect, it } from "vitest";
import { pipelineTopics } from "../../../../services/shared/pipeline/definition.ts";
import { partitionProblems } from "../../../../services/shared/pipeline/setup.ts";

const topics = pipelineTopics("payments");
const counts = (raw: number, features: number, scored: number, state: number) =>
  new Map([
    [topics.raw, raw],
    [topics.features, features],
    [topics.scored, scored],
    [topics.transformerState, state],
  ]);

describe("partition counts of a pipeline's topics", () => {
  it("accepts equal counts, and more partitions downstream than raw", () => {
    expect(partitionProblems("payments", counts(3, 3, 3, 3))).toEqual([]);
    expect(partitionProblems("payments", counts(3, 6, 4, 3))).toEqual([]);
  });

  it("names each topic with fewer partitions than raw", () => {
    expect(partitionProblems("payments", counts(3, 1, 3, 2))).toEqual([
      `${topics.features} has 1 partitions, fewer than the 3 of ${topics.raw}`,
      `${topics.transformerState} has 2 partitions, fewer than the 3 of ${topics.raw}`,
    ]);
  });
});
