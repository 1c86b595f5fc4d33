// The closed loop's last steps, run after every quality pass: a shadow that has beaten the champion
// on the policy's labelled windows is recommended for promotion (an event on the model log, so in
// model_events) or, when the policy's autoPromote is on, promoted by the monitor; a champion that
// falls short of the one it displaced over its first labelled windows is rolled back (autoRollback,
// on by default) or recommended for rollback. Each decision rests on the numbers in its evidence.
//
// The model log, read at each pass, is the memory: what was recommended or promoted already, which
// promotion put the champion in place. So a restart neither asks twice nor forgets a promotion it
// has to judge. At most one recommendation or promotion per version, one rollback judgement per
// promotion.
import { describeError, isStreamscoreError } from "../shared/errors.ts";
import type { ModelLogWriter } from "../shared/kafka/model-log.ts";
import type { Logger } from "../shared/logger.ts";
import { type Deployment, foldEvents, type ModelEvent, planRollback } from "../shared/model/lifecycle.ts";
import { decidePromotion, decideRollback, type PromotionDecision } from "../shared/model/promotion.ts";
import type { ClosedWindow, RetrainingPolicy } from "../shared/model/retraining.ts";

/** The actor of every change and recommendation the monitor makes. */
export const monitorActor = "monitor";

export interface PromotionWatch {
  /** After a quality pass: every version's windows (oldest first); resolves once its decisions are on the log. */
  qualityMeasured(byVersion: ReadonlyMap<number, readonly ClosedWindow[]>): Promise<void>;
}

/** The promotion that put the current champion in place, when a promotion did and it displaced one. */
interface CurrentPromotion {
  changeId: string;
  at: number;
  newChampion: number;
  oldChampion: number;
}

function currentPromotion(deployment: Deployment, events: readonly ModelEvent[]): CurrentPromotion | undefined {
  const champion = deployment.champion;
  if (champion === undefined) return undefined;
  const made = events.findLast((e) => e.version === champion && e.toState === "champion");
  if (made?.kind !== "promote") return undefined;
  const displaced = events.find(
    (e) => e.changeId === made.changeId && e.fromState === "champion" && e.version !== champion,
  );
  if (displaced === undefined || displaced.version === null) return undefined;
  return { changeId: made.changeId, at: made.at, newChampion: champion, oldChampion: displaced.version };
}

export function createPromotionWatch(deps: {
  pipeline: string;
  policy: RetrainingPolicy;
  writer: ModelLogWriter;
  /** The pipeline's model log as it stands (readModelEvents in production). */
  readEvents: () => Promise<ModelEvent[]>;
  logger: Logger;
}): PromotionWatch {
  const { policy } = deps;
  const log = deps.logger.child({ module: "promotion", pipeline: deps.pipeline });
  /** Versions recommended or promoted by this process (the log says the same after a restart). */
  const decidedVersions = new Set<number>();
  /** Promotions (change ids) whose rollback judgement is final. */
  const judged = new Set<string>();

  const windowsOf = (byVersion: ReadonlyMap<number, readonly ClosedWindow[]>, version: number) => ({
    version,
    windows: byVersion.get(version) ?? [],
  });

  /** Runs a change or notice; false when it should be tried again at the next pass. */
  async function write(what: string, version: number, action: () => Promise<unknown>): Promise<boolean> {
    try {
      await action();
      return true;
    } catch (error) {
      // A refused change is on the log already (the writer appends the refusal): the deployment
      // moved on meanwhile, and asking again at every pass would only repeat the refusal.
      if (isStreamscoreError(error) && error.code === "MODEL_CHANGE_REFUSED") {
        log.warn({ version, error: error.message }, `${what} refused`);
        return true;
      }
      log.error(
        { version, error: describeError(error) },
        `${what} could not be written; tried again after the next quality pass`,
      );
      return false;
    }
  }

  /** Resolves true when it rolled back (the deployment changed). */
  async function judgeRollback(
    deployment: Deployment,
    events: readonly ModelEvent[],
    byVersion: ReadonlyMap<number, readonly ClosedWindow[]>,
  ): Promise<boolean> {
    const promotion = currentPromotion(deployment, events);
    if (!promotion || judged.has(promotion.changeId)) return false;
    const recommended = events.some(
      (e) => e.kind === "rollback-recommended" && e.evidence.promotionChangeId === promotion.changeId,
    );
    if (recommended) {
      judged.add(promotion.changeId);
      return false;
    }
    const decision = decideRollback(policy, {
      at: promotion.at,
      newChampion: windowsOf(byVersion, promotion.newChampion),
      oldChampion: windowsOf(byVersion, promotion.oldChampion),
    });
    if (decision.verdict === "wait") return false;
    if (decision.verdict !== "rollback") {
      judged.add(promotion.changeId);
      log.info({ version: promotion.newChampion, verdict: decision.verdict }, decision.reason);
      return false;
    }
    const evidence = { ...decision.evidence, promotionChangeId: promotion.changeId };
    // The lifecycle's rollback restores the newest earlier champion still registered or in shadow;
    // when that is not the one the judgement compared with (retired meanwhile), a person decides.
    let restores: number | undefined;
    try {
      restores = planRollback(deployment).find((c) => c.toState === "champion")?.version;
    } catch {
      restores = undefined;
    }
    const automatic = policy.autoRollback && restores === promotion.oldChampion;
    const written = automatic
      ? await write("rollback", promotion.newChampion, () =>
          deps.writer.change({ action: "rollback", actor: monitorActor, reason: decision.reason, evidence }),
        )
      : await write("rollback recommendation", promotion.newChampion, () =>
          deps.writer.notice({
            kind: "rollback-recommended",
            version: promotion.newChampion,
            actor: monitorActor,
            reason: policy.autoRollback
              ? `${decision.reason}; not rolled back automatically: the rollback would restore ${restores === undefined ? "no version" : `version ${restores}`}, not version ${promotion.oldChampion}`
              : decision.reason,
            evidence,
          }),
        );
    if (!written) return false;
    judged.add(promotion.changeId);
    log.warn({ version: promotion.newChampion, automatic }, decision.reason);
    return automatic;
  }

  async function judgePromotions(
    deployment: Deployment,
    events: readonly ModelEvent[],
    byVersion: ReadonlyMap<number, readonly ClosedWindow[]>,
  ): Promise<void> {
    const champion = deployment.champion;
    if (champion === undefined) return;
    for (const event of events) {
      const promotedByMonitor = event.kind === "promote" && event.actor === monitorActor;
      if ((event.kind === "promotion-recommended" || promotedByMonitor) && event.version !== null) {
        decidedVersions.add(event.version);
      }
    }
    const winners: Array<{ version: number; decision: PromotionDecision }> = [];
    for (const version of deployment.shadows) {
      if (decidedVersions.has(version)) continue;
      const decision = decidePromotion(policy, windowsOf(byVersion, version), windowsOf(byVersion, champion));
      log.debug({ version, verdict: decision.verdict }, decision.reason);
      if (decision.verdict === "promote") winners.push({ version, decision });
    }
    if (winners.length === 0) return;
    if (!policy.autoPromote) {
      for (const { version, decision } of winners) {
        const written = await write("promotion recommendation", version, () =>
          deps.writer.notice({
            kind: "promotion-recommended",
            version,
            actor: monitorActor,
            reason: decision.reason,
            evidence: decision.evidence,
          }),
        );
        if (written) {
          decidedVersions.add(version);
          log.warn({ version }, `promotion recommended: ${decision.reason}`);
        }
      }
      return;
    }
    // One promotion per pass, the largest gain: other winners are judged against the new champion next time.
    const best = winners.reduce((a, b) =>
      Number(b.decision.evidence.gain) > Number(a.decision.evidence.gain) ? b : a,
    );
    const written = await write("promotion", best.version, () =>
      deps.writer.change({
        action: "promote",
        version: best.version,
        actor: monitorActor,
        reason: best.decision.reason,
        evidence: best.decision.evidence,
      }),
    );
    if (written) {
      decidedVersions.add(best.version);
      log.warn({ version: best.version }, `promoted: ${best.decision.reason}`);
    }
  }

  return {
    async qualityMeasured(byVersion) {
      const events = (await deps.readEvents()).filter((e) => e.pipeline === deps.pipeline);
      const deployment = foldEvents(deps.pipeline, events);
      // A rollback first, and no promotion in the same pass: the shadows would be compared with a
      // champion that has just gone (the next pass compares them with the restored one).
      if (await judgeRollback(deployment, events, byVersion)) return;
      await judgePromotions(deployment, events, byVersion);
    },
  };
}
