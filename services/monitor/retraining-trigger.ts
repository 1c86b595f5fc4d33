// The first step of the closed loop: the monitor evaluates the pipeline's retraining policy on its
// closed windows, per model version, and when the policy fires appends a `retrain-requested` event,
// with the windows it was based on, to the model log (and so to the audit trail). At most one
// request per model version: the requests already on the log are read from model_events at start.
// The windows of a version's first `warmUpMs` of event time are left out: rolling features (a card's
// count over the last hour) read low until a window's worth of history exists, which is drift
// against the training data, but not the kind retraining would cure.
import type { ClickHouse } from "../shared/clickhouse/client.ts";
import { describeError } from "../shared/errors.ts";
import type { ModelLogWriter } from "../shared/kafka/model-log.ts";
import type { Logger } from "../shared/logger.ts";
import {
  type ClosedWindow,
  evaluatePolicy,
  type PolicyDecision,
  type RetrainingPolicy,
} from "../shared/model/retraining.ts";

export interface RetrainingTrigger {
  /** Reads the requests already made, so a restart does not ask again. */
  start(): Promise<void>;
  /** A drift window of `version` closed; resolves once a request it caused is on the log. */
  windowClosed(version: number, window: ClosedWindow): Promise<void>;
  /** The quality job measured `version`'s windows (oldest first): the policy's quality trigger. */
  qualityMeasured(version: number, windows: readonly ClosedWindow[]): Promise<void>;
}

export function createRetrainingTrigger(deps: {
  pipeline: string;
  policy: RetrainingPolicy;
  writer: ModelLogWriter;
  clickhouse: ClickHouse;
  database: string;
  logger: Logger;
  /** The longest rolling-feature window: the warm-up left out after a version's first window. */
  warmUpMs: number;
  /** Called once the request is on the log (e.g. to start the trainer). */
  onRequested?: (version: number, reason: string) => void;
}): RetrainingTrigger {
  const log = deps.logger.child({ module: "retraining", pipeline: deps.pipeline });
  const keep = Math.max(deps.policy.drift?.windows ?? 1, 1);
  const history = new Map<number, ClosedWindow[]>();
  const requested = new Set<number>();
  const firstWindow = new Map<number, number>();

  async function request(version: number, decision: PolicyDecision): Promise<void> {
    if (requested.has(version) || !decision.fire) return;
    requested.add(version);
    try {
      await deps.writer.notice({
        kind: "retrain-requested",
        version,
        actor: "retraining policy (monitor)",
        reason: decision.reason,
        evidence: decision.evidence,
      });
      log.warn({ version, reason: decision.reason }, "retraining requested");
    } catch (error) {
      // Asked again at the next window that still fires.
      requested.delete(version);
      log.error({ version, error: describeError(error) }, "retraining request could not be written");
      return;
    }
    deps.onRequested?.(version, decision.reason);
  }

  return {
    async start() {
      const rows = await deps.clickhouse.query<{ version: number }>(
        `SELECT DISTINCT version FROM ${deps.database}.model_events FINAL
         WHERE pipeline = '${deps.pipeline}' AND kind = 'retrain-requested'`,
      );
      for (const row of rows) requested.add(Number(row.version));
    },
    async windowClosed(version, window) {
      const first = firstWindow.get(version) ?? window.windowStart;
      firstWindow.set(version, first);
      if (window.windowStart < first + deps.warmUpMs) return;
      const windows = [...(history.get(version) ?? []), window].slice(-keep);
      history.set(version, windows);
      if (deps.policy.drift) await request(version, evaluatePolicy({ ...deps.policy, quality: undefined }, windows));
    },
    async qualityMeasured(version, windows) {
      if (deps.policy.quality) await request(version, evaluatePolicy({ ...deps.policy, drift: undefined }, windows));
    },
  };
}
