// The monitor's promotion watch on an in-memory model log (planned with the lifecycle, as the real
// writer does): what is under test is what it writes after a quality pass, and that it writes once.
import { describe, expect, it } from "vitest";
import { createPromotionWatch } from "../../../services/monitor/promotion.ts";
import { StreamscoreError } from "../../../services/shared/errors.ts";
import type { ModelLogWriter, NoticeRequest } from "../../../services/shared/kafka/model-log.ts";
import { createLogger } from "../../../services/shared/logger.ts";
import {
  type ChangeRequest,
  foldEvents,
  type ModelEvent,
  planChange,
} from "../../../services/shared/model/lifecycle.ts";
import { type ClosedWindow, retrainingPolicySchema } from "../../../services/shared/model/retraining.ts";

const minute = 60_000;
const basePolicy = {
  quality: { metric: "roc_auc", threshold: 0.5, minLabels: 10 },
  gate: { metric: "roc_auc", margin: 0.01, maxSegmentRegression: 0 },
  shadowWindows: 2,
  minWindowLabels: 100,
  rollbackWindows: 2,
};

/** A model log in memory: changes are planned on it like the real writer plans them. */
function memoryLog(options: { failNotices?: number } = {}) {
  const events: ModelEvent[] = [];
  let clock = 0;
  let failNotices = options.failNotices ?? 0;
  const append = (fields: Omit<ModelEvent, "eventId" | "changeId" | "pipeline" | "at">[], changeId: string) => {
    for (const f of fields) events.push({ eventId: `e${events.length}`, changeId, pipeline: "shop", at: clock, ...f });
  };
  const writer: ModelLogWriter = {
    async change(request: ChangeRequest) {
      const changeId = `c${events.length}`;
      try {
        const changes = planChange(foldEvents("shop", events), request);
        append(
          changes.map((c) => ({
            ...c,
            actor: request.actor,
            reason: request.reason,
            evidence: request.evidence ?? {},
          })),
          changeId,
        );
      } catch (error) {
        append(
          [
            {
              version: request.version ?? null,
              kind: "refused",
              fromState: null,
              toState: null,
              weight: null,
              actor: request.actor,
              reason: request.reason,
              evidence: { refusedBecause: (error as Error).message },
            },
          ],
          changeId,
        );
        throw error;
      }
      return { events: [], deployment: foldEvents("shop", events) };
    },
    async notice(request: NoticeRequest) {
      if (failNotices > 0) {
        failNotices -= 1;
        throw new Error("broker away");
      }
      append(
        [{ ...request, fromState: null, toState: null, weight: null, evidence: request.evidence ?? {} }],
        `n${events.length}`,
      );
      return events.at(-1) as ModelEvent;
    },
  };
  const person = (request: Omit<ChangeRequest, "actor" | "reason">) =>
    writer.change({ actor: "operator", reason: "by hand", ...request });
  return {
    events,
    writer,
    person,
    setClock: (at: number) => {
      clock = at;
    },
    watch: (policy: Partial<typeof basePolicy> & Record<string, unknown> = {}) =>
      createPromotionWatch({
        pipeline: "shop",
        policy: retrainingPolicySchema.parse({ ...basePolicy, ...policy }),
        writer,
        readEvents: async () => [...events],
        logger: createLogger({ name: "test", level: "silent" }),
      }),
    written: () => events.filter((e) => e.actor === "monitor").map((e) => `${e.kind} ${e.version} ${e.toState ?? ""}`),
  };
}

function windows(values: number[], from = 0, labelled = 500): ClosedWindow[] {
  return values.map((value, i) => ({
    windowStart: from + i * 5 * minute,
    driftedFeatures: [],
    quality: { roc_auc: { value, labelled } },
  }));
}

async function championOneShadowTwo(log: ReturnType<typeof memoryLog>) {
  for (const version of [1, 2]) await log.person({ action: "register", version });
  await log.person({ action: "promote", version: 1 });
  await log.person({ action: "shadow", version: 2 });
}

describe("promotion watch", () => {
  it("recommends a winning shadow once, with the evidence, when promotion is left to a person", async () => {
    const log = memoryLog();
    await championOneShadowTwo(log);
    const watch = log.watch();
    await watch.qualityMeasured(
      new Map([
        [1, windows([0.8])],
        [2, windows([0.9])],
      ]),
    );
    expect(log.written()).toEqual([]);
    const won = new Map([
      [1, windows([0.8, 0.8])],
      [2, windows([0.9, 0.9])],
    ]);
    await watch.qualityMeasured(won);
    expect(log.written()).toEqual(["promotion-recommended 2 "]);
    const recommendation = log.events.at(-1);
    expect(recommendation?.evidence).toMatchObject({
      candidate: 2,
      champion: 1,
      candidateMean: 0.9,
      championMean: 0.8,
    });
    expect(recommendation?.evidence.windows).toHaveLength(2);
    expect(foldEvents("shop", log.events).champion).toBe(1);
    await watch.qualityMeasured(won);
    // A restarted monitor reads the recommendation from the log and does not repeat it.
    await log.watch().qualityMeasured(won);
    expect(log.written()).toEqual(["promotion-recommended 2 "]);
  });

  it("recommends again after a failed write, and never a losing shadow", async () => {
    const log = memoryLog({ failNotices: 1 });
    await championOneShadowTwo(log);
    await log.person({ action: "register", version: 3 });
    await log.person({ action: "shadow", version: 3 });
    const watch = log.watch();
    const measured = new Map([
      [1, windows([0.8, 0.8])],
      [2, windows([0.9, 0.9])],
      [3, windows([0.7, 0.85])],
    ]);
    await expect(watch.qualityMeasured(measured)).resolves.toBeUndefined();
    expect(log.written()).toEqual([]);
    await watch.qualityMeasured(measured);
    expect(log.written()).toEqual(["promotion-recommended 2 "]);
  });

  it("promotes on its own with autoPromote, then rolls back once when the new champion falls short", async () => {
    const log = memoryLog();
    await championOneShadowTwo(log);
    const watch = log.watch({ autoPromote: true });
    const promotedAt = 20 * minute;
    log.setClock(promotedAt);
    await watch.qualityMeasured(
      new Map([
        [1, windows([0.8, 0.8, 0.8, 0.8])],
        [2, windows([0.9, 0.9, 0.9, 0.9])],
      ]),
    );
    expect(log.written()).toEqual(["promote 2 champion", "promote 1 registered"]);
    const promotion = log.events.at(-2);
    expect(promotion?.reason).toContain("beats it by 0.1000");
    expect(promotion?.evidence).toMatchObject({ candidate: 2, champion: 1, gain: 0.1 });
    expect(foldEvents("shop", log.events).champion).toBe(2);

    // One labelled window after the promotion: too early to judge.
    const afterPromotion = (values: number[]) =>
      new Map([
        [1, windows([0.8, 0.8, 0.8, 0.8])],
        [2, [...windows([0.9, 0.9, 0.9, 0.9]), ...windows(values, promotedAt)]],
      ]);
    await watch.qualityMeasured(afterPromotion([0.6]));
    expect(log.written()).toHaveLength(2);
    await watch.qualityMeasured(afterPromotion([0.6, 0.7]));
    expect(log.written().slice(2)).toEqual(["rollback 2 retired", "rollback 1 champion"]);
    const rollback = log.events.at(-1);
    expect(rollback?.evidence).toMatchObject({
      comparison: "windows before the promotion",
      newMean: 0.65,
      oldMean: 0.8,
      promotionChangeId: promotion?.changeId,
    });
    // Rolled back once: version 2 is retired and version 1 is champion by a rollback, not a promotion.
    await watch.qualityMeasured(afterPromotion([0.6, 0.7]));
    await log.watch({ autoPromote: true }).qualityMeasured(afterPromotion([0.6, 0.7]));
    expect(log.written()).toHaveLength(4);
  });

  it("judges a person's promotion too, and only recommends the rollback with autoRollback off", async () => {
    const log = memoryLog();
    await championOneShadowTwo(log);
    log.setClock(20 * minute);
    await log.person({ action: "promote", version: 2 });
    const measured = new Map([
      [1, windows([0.8, 0.8, 0.8, 0.8])],
      [2, windows([0.5, 0.5], 20 * minute)],
    ]);
    const watch = log.watch({ autoRollback: false });
    await watch.qualityMeasured(measured);
    await watch.qualityMeasured(measured);
    expect(log.written()).toEqual(["rollback-recommended 2 "]);
    expect(foldEvents("shop", log.events).champion).toBe(2);
    await log.watch({ autoRollback: false }).qualityMeasured(measured);
    expect(log.written()).toHaveLength(1);
  });

  it("leaves a champion that holds up, and one whose predecessor the rollback would not restore, to a person", async () => {
    const log = memoryLog();
    await championOneShadowTwo(log);
    log.setClock(20 * minute);
    await log.person({ action: "promote", version: 2 });
    const holds = new Map([
      [1, windows([0.8, 0.8, 0.8, 0.8])],
      [2, windows([0.85, 0.8], 20 * minute)],
    ]);
    await log.watch().qualityMeasured(holds);
    expect(log.written()).toEqual([]);

    // Version 1 retired meanwhile: the lifecycle's rollback has nothing to restore.
    await log.person({ action: "retire", version: 1 });
    const fallsShort = new Map([
      [1, windows([0.8, 0.8, 0.8, 0.8])],
      [2, windows([0.5, 0.5], 20 * minute)],
    ]);
    await log.watch().qualityMeasured(fallsShort);
    expect(log.written()).toEqual(["rollback-recommended 2 "]);
    expect(log.events.at(-1)?.reason).toContain("not rolled back automatically: the rollback would restore no version");
  });

  it("does not promote again after a refused promotion", async () => {
    const log = memoryLog();
    await championOneShadowTwo(log);
    const watch = log.watch({ autoPromote: true });
    const measured = new Map([
      [1, windows([0.8, 0.8])],
      [2, windows([0.9, 0.9])],
    ]);
    // The writer refuses (as it would when the deployment moved on between read and write).
    const change = log.writer.change;
    log.writer.change = async () => {
      throw new StreamscoreError("MODEL_CHANGE_REFUSED", "version 2 is retired; promote needs one of: ...");
    };
    await watch.qualityMeasured(measured);
    log.writer.change = change;
    await watch.qualityMeasured(measured);
    expect(foldEvents("shop", log.events).champion).toBe(1);
  });
});
