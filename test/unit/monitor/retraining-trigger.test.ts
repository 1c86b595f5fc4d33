// The trigger between the monitor's windows and the model log, with the log and ClickHouse as
// in-memory stand-ins: what is under test is when it asks, and that it asks once.
import { describe, expect, it } from "vitest";
import { createRetrainingTrigger } from "../../../services/monitor/retraining-trigger.ts";
import type { ClickHouse } from "../../../services/shared/clickhouse/client.ts";
import type { ModelLogWriter, NoticeRequest } from "../../../services/shared/kafka/model-log.ts";
import { createLogger } from "../../../services/shared/logger.ts";
import { retrainingPolicySchema } from "../../../services/shared/model/retraining.ts";

const minute = 60_000;
const policy = retrainingPolicySchema.parse({
  drift: { features: 2, windows: 2 },
  quality: { metric: "roc_auc", threshold: 0.9, minLabels: 50 },
  gate: { metric: "roc_auc", margin: 0, maxSegmentRegression: 0 },
});

function setUp(alreadyRequested: number[] = [], failFirst = false) {
  const notices: NoticeRequest[] = [];
  const started: Array<[number, string]> = [];
  let fail = failFirst;
  const writer = {
    notice: async (request: NoticeRequest) => {
      if (fail) {
        fail = false;
        throw new Error("broker away");
      }
      notices.push(request);
      return {} as never;
    },
  } as unknown as ModelLogWriter;
  const clickhouse = { query: async () => alreadyRequested.map((version) => ({ version })) } as unknown as ClickHouse;
  const trigger = createRetrainingTrigger({
    pipeline: "shop",
    policy,
    writer,
    clickhouse,
    database: "db",
    logger: createLogger({ name: "test", level: "silent" }),
    warmUpMs: 60 * minute,
    onRequested: (version, reason) => started.push([version, reason]),
  });
  return { trigger, notices, started };
}

const drifted = (start: number, features: string[]) => ({ windowStart: start, driftedFeatures: features, quality: {} });

describe("retraining trigger", () => {
  it("leaves the warm-up hour out, then asks once per version when the drift trigger holds", async () => {
    const { trigger, notices } = setUp();
    await trigger.start();
    for (let w = 0; w < 12; w += 1) await trigger.windowClosed(1, drifted(w * 5 * minute, ["a", "b"]));
    expect(notices).toEqual([]);
    await trigger.windowClosed(1, drifted(60 * minute, ["a", "b"]));
    expect(notices).toEqual([]);
    await trigger.windowClosed(1, drifted(65 * minute, ["a", "b", "c"]));
    expect(notices).toHaveLength(1);
    expect(notices[0]).toMatchObject({ kind: "retrain-requested", version: 1, actor: "retraining policy (monitor)" });
    expect(notices[0]?.evidence).toMatchObject({
      trigger: "drift",
      windows: [{ windowStart: 60 * minute }, { windowStart: 65 * minute }],
    });
    await trigger.windowClosed(1, drifted(70 * minute, ["a", "b"]));
    expect(notices).toHaveLength(1);
  });

  it("does not ask again for a version the log already has a request for", async () => {
    const { trigger, notices } = setUp([1]);
    await trigger.start();
    await trigger.qualityMeasured(1, [
      { windowStart: 0, driftedFeatures: [], quality: { roc_auc: { value: 0.5, labelled: 500 } } },
    ]);
    expect(notices).toEqual([]);
    await trigger.qualityMeasured(2, [
      { windowStart: 0, driftedFeatures: [], quality: { roc_auc: { value: 0.5, labelled: 500 } } },
    ]);
    expect(notices.map((n) => [n.version, (n.evidence as { trigger: string }).trigger])).toEqual([[2, "quality"]]);
  });

  it("asks again at the next window that fires when the request could not be written", async () => {
    const { trigger, notices } = setUp([], true);
    await trigger.start();
    const low = { windowStart: 0, driftedFeatures: [], quality: { roc_auc: { value: 0.7, labelled: 60 } } };
    await trigger.qualityMeasured(3, [low]);
    expect(notices).toEqual([]);
    await trigger.qualityMeasured(3, [low]);
    expect(notices).toHaveLength(1);
  });

  it("starts the trainer once the request is on the log, not when writing it failed", async () => {
    const { trigger, notices, started } = setUp([], true);
    await trigger.start();
    await trigger.windowClosed(1, drifted(0, [])); // the version's first window: the warm-up starts here
    await trigger.windowClosed(1, drifted(60 * minute, ["a", "b"]));
    await trigger.windowClosed(1, drifted(65 * minute, ["a", "b"]));
    expect(notices).toEqual([]);
    expect(started).toEqual([]);
    await trigger.windowClosed(1, drifted(70 * minute, ["a", "b"]));
    expect(notices).toHaveLength(1);
    expect(started).toEqual([[1, notices[0]?.reason]]);
    await trigger.windowClosed(1, drifted(75 * minute, ["a", "b"]));
    expect(started).toHaveLength(1);
  });
});
