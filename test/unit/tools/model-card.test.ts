import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { ModelEvent } from "../../../services/shared/model/lifecycle.ts";
import { readManifest } from "../../../services/shared/model/manifest.ts";
import { projectRoot } from "../../../services/shared/project.ts";
import { renderHtml, renderMarkdown } from "../../../tools/models/card.ts";

const manifest = readManifest(join(projectRoot, "services/inference/models/payments/1"));
const event = (kind: ModelEvent["kind"], toState: ModelEvent["toState"], at: number, reason: string): ModelEvent => ({
  eventId: `e${at}`,
  changeId: `c${at}`,
  pipeline: "payments",
  version: 1,
  kind,
  fromState: null,
  toState,
  weight: null,
  actor: "ops (cli)",
  reason,
  at,
  evidence: {},
});
const history = [
  event("register", "registered", Date.UTC(2026, 11, 1), "first model"),
  event("promote", "champion", Date.UTC(2026, 11, 2), "holdout AUC <0.99> beats | nothing"),
];
const input = {
  pipeline: "payments",
  manifest,
  entry: {
    version: 1,
    state: "champion" as const,
    weight: undefined,
    registeredAt: Date.UTC(2026, 11, 1),
    changedAt: Date.UTC(2026, 11, 2),
    changedBy: "ops (cli)",
    reason: "holdout AUC beats nothing",
    evidence: {},
  },
  history,
  live: {
    quality: [{ metric: "roc_auc", value: 0.91234, windows: 12, labelled: 3600 }],
    drift: [{ feature: "amount", drifted: 6, windows: 53 }],
  },
};

describe("model card", () => {
  it("says what the model is for, what it was trained on, how it does, and its history", () => {
    const md = renderMarkdown(input);
    expect(md).toContain("# Model card: payments-fraud v1 (payments)");
    expect(md).toContain("State in the registry: **champion**, since 2026-12-02T00:00:00Z by ops (cli)");
    // Holdout metrics from the manifest, as trained.
    expect(md).toContain(
      `| rocAuc | ${(manifest.metrics as { holdout: { rocAuc: number } }).holdout.rocAuc.toFixed(4)} |`,
    );
    expect(md).toContain("| roc_auc | 0.9123 | 12 | 3600 |");
    expect(md).toContain("| amount | 6 | 53 |");
    // The history row keeps its reason, with the table's separator defused.
    expect(md).toContain(
      "| 2026-12-02T00:00:00Z | promote |  | champion | ops (cli) | holdout AUC <0.99> beats / nothing |",
    );
    // The shipped payments model was trained on one day of the week.
    expect(md).toContain("`day_of_week` did not vary in the training data");
    expect(md).not.toContain("`hour_of_day` did not vary");
    for (const feature of manifest.featureOrder.filter((f) => f in manifest.profile.features)) {
      expect(md).toContain(`| ${feature} |`);
    }
  });

  it("says when there are no live figures instead of showing an empty table", () => {
    const md = renderMarkdown({ ...input, live: { quality: [], drift: [], unavailable: "ClickHouse did not answer" } });
    expect(md).toMatch(/## Live quality since deployment\n\n- ClickHouse did not answer/);
  });

  it("renders the same sections as HTML, escaped", () => {
    const html = renderHtml(input);
    expect(html).toContain("<h2>History (audit trail)</h2>");
    expect(html).toContain("holdout AUC &lt;0.99&gt; beats / nothing");
    expect(html).not.toContain("<0.99>");
  });

  it("shows a retrained version's data and the validation gate's numbers per segment", () => {
    const retrained = {
      ...manifest,
      version: 2,
      trainer: {
        ...manifest.trainer,
        trainingData: {
          source: "ClickHouse streamscore.predictions joined with labels by event_id",
          window: { since: "2026-12-07T04:15:00.000Z", until: "2026-12-07T04:45:00.000Z" },
          eventTime: { first: "2026-12-07T04:15:01.500Z", last: "2026-12-07T04:44:58.500Z" },
          rows: { exported: 1821, train: 1442, holdout: 379 },
          champion: 1,
          sha256: { train: "a0d8", holdout: "cbdf" },
        },
      },
    };
    const gate: ModelEvent = {
      ...event("shadow", "shadow", Date.UTC(2026, 11, 7), "gate passed"),
      version: 2,
      evidence: {
        metric: "roc_auc",
        margin: 0.005,
        maxSegmentRegression: 0.02,
        candidate: 0.98846,
        champion: 0.30162,
        championVersion: 1,
        reasons: [],
        holdoutRows: 379,
        segmentsNotCompared: [{ name: "channel=atm", classCounts: [31, 7] }],
        championMetrics: { segments: { "channel=pos": { roc_auc: 0.37153 } } },
        candidateMetrics: { segments: { "channel=pos": { roc_auc: 1 } } },
      },
    };
    const md = renderMarkdown({ ...input, manifest: retrained, history: [...history, gate] });
    expect(md).toContain(
      "Retrained on ClickHouse streamscore.predictions joined with labels by event_id: window 2026-12-07T04:15:00.000Z … 2026-12-07T04:45:00.000Z",
    );
    expect(md).toContain("1821 labelled events, 1442 train / 379 holdout, against champion v1");
    expect(md).toContain("Passed: holdout roc_auc 0.9885 against champion v1's 0.3016 on 379 rows (margin 0.0050");
    expect(md).toContain("Segment channel=atm not compared: too few events of a class in the holdout (31 / 7).");
    expect(md).toContain("| channel=pos | 0.3715 | 1 |");
    expect(md).toContain("Segments: the validation gate compared each category");
    // The shipped version had no gate: the card says so rather than inventing segments.
    expect(renderMarkdown(input)).toContain("Segments: no validation gate ran for this version");
  });
});
