import { describe, expect, it } from "vitest";
import { definePipeline, featureNames, pipelineTopics } from "../../../../services/shared/pipeline/definition.ts";
import { pipelines } from "../../../../services/shared/pipelines/index.ts";

const minimal = {
  name: "ok",
  description: "d",
  schema: "ok.avsc",
  eventId: "id",
  entityKey: "key",
  eventTime: "ts",
  cleaning: { dedupe: { key: "id", windowSeconds: 60 } },
  features: [{ name: "x", kind: "numeric" as const, source: "x" }],
  model: { directory: "m", name: "m" },
};

describe("pipeline definitions", () => {
  it("ship payments and iris, each valid", () => {
    expect([...pipelines.keys()]).toEqual(["payments", "iris"]);
    expect(featureNames(pipelines.get("iris") ?? minimal)).toEqual([
      "sepal_length",
      "sepal_width",
      "petal_length",
      "petal_width",
    ]);
  });

  it("name topics per pipeline", () => {
    expect(pipelineTopics("payments")).toMatchObject({
      raw: "payments.raw",
      features: "payments.features",
      scored: "payments.scored",
      dlq: "payments.dlq",
    });
  });

  it.each([
    [{ name: "Bad Name" }, /name: must be lower-case/],
    [{ schema: "ok.json" }, /schema: /],
    [{ features: [] }, /features: /],
    [{ features: [{ name: "x", kind: "log2", source: "x" }] }, /features\.0\.kind/],
    [{ features: [{ name: "x", kind: "standard-scale", source: "x", mean: 0, std: 0 }] }, /features\.0\.std/],
    [{ cleaning: { dedupe: { key: "id", windowSeconds: -1 } } }, /cleaning\.dedupe\.windowSeconds/],
    [{ cleaning: { dedupe: { key: "id", windowSeconds: 1 }, colour: 1 } }, /cleaning: .*colour/],
    [{ monitoring: { windowSeconds: 0 } }, /monitoring\.windowSeconds/],
    [{ personal: { key: "encrypt" } }, /personal\.key/],
    [{ personal: { key: "drop" } }, /personal\.key: "key" identifies records/],
    [{ personal: { ts: "hash" } }, /personal\.ts: the event-time field cannot be personal/],
    [{ personal: { x: "hash" } }, /personal\.x: feature "x" reads it/],
    [
      { personal: { card: "hash" }, cleaning: { dedupe: { key: "id", windowSeconds: 1 }, allowed: { card: ["a"] } } },
      /personal\.card: an allowed-values or range rule/,
    ],
    [
      { retraining: { gate: { metric: "roc_auc", margin: 0, maxSegmentRegression: 0 } } },
      /retraining: a retraining policy needs/,
    ],
    [
      {
        retraining: {
          drift: { features: 0, windows: 3 },
          gate: { metric: "roc_auc", margin: 0, maxSegmentRegression: 0 },
        },
      },
      /retraining\.drift\.features/,
    ],
  ])("reject %o naming the bad key", (override, message) => {
    expect(() => definePipeline({ ...minimal, ...override } as typeof minimal)).toThrow(message);
  });

  it("accept personal fields that are hashed or dropped and feed no feature", () => {
    const definition = definePipeline({ ...minimal, personal: { key: "hash", note: "drop" } });
    expect(definition.personal).toEqual({ key: "hash", note: "drop" });
    expect(definePipeline(minimal).personal).toEqual({});
  });

  it("reject two features with one name", () => {
    expect(() =>
      definePipeline({
        ...minimal,
        features: [
          { name: "x", kind: "numeric", source: "x" },
          { name: "x", kind: "log1p", source: "x" },
        ],
      }),
    ).toThrow(/"x" is defined twice/);
  });
});

describe("PIPELINES entries", () => {
  it("run a shipped definition under another name", async () => {
    const { getPipeline } = await import("../../../../services/shared/pipelines/index.ts");
    const shadow = getPipeline("payments-shadow=payments");
    expect(shadow.name).toBe("payments-shadow");
    expect(shadow.features).toEqual(getPipeline("payments").features);
    expect(pipelineTopics(shadow.name).raw).toBe("payments-shadow.raw");
  });

  it("refuse unknown definitions and invalid names", async () => {
    const { getPipeline } = await import("../../../../services/shared/pipelines/index.ts");
    expect(() => getPipeline("x=nope")).toThrow(/unknown pipeline "nope"/);
    expect(() => getPipeline("Bad Name=payments")).toThrow(/name: must be lower-case/);
  });
});
