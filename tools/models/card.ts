// A model card from a version's manifest, its registry entry, its audit trail and (when ClickHouse
// answers) its live quality and drift since deployment: Markdown, and HTML from the same sections.
// Pure: the numbers come in, the text goes out.
import type { ModelEvent, VersionEntry } from "../../services/shared/model/lifecycle.ts";
import type { ModelManifest } from "../../services/shared/model/manifest.ts";

export interface LiveFigures {
  /** metric → mean over the labelled windows since deployment, with how many windows and labels. */
  quality: Array<{ metric: string; value: number; windows: number; labelled: number }>;
  /** feature → windows flagged as drifted of windows seen. */
  drift: Array<{ feature: string; drifted: number; windows: number }>;
  /** Why there are no live figures, when there are none. */
  unavailable?: string;
}

export interface CardInput {
  pipeline: string;
  manifest: ModelManifest;
  entry: VersionEntry | undefined;
  history: ModelEvent[];
  live: LiveFigures;
}

type Section = { title: string; lines: string[] } | { title: string; table: string[][] };

const iso = (ms: number) => new Date(ms).toISOString().replace(".000Z", "Z");

function number(value: unknown): string {
  return typeof value === "number" ? (Number.isInteger(value) ? String(value) : value.toFixed(4)) : String(value);
}

/** Features whose training profile has no spread: one value, or one category. */
function constantFeatures(manifest: ModelManifest): string[] {
  return Object.entries(manifest.profile.features)
    .filter(([, p]) => (p.type === "numerical" ? p.std === 0 : Object.keys(p.frequencies).length <= 1))
    .map(([name]) => name);
}

interface TrainingData {
  source?: string;
  window?: { since?: string; until?: string };
  eventTime?: { first?: string; last?: string };
  rows?: { exported?: number; train?: number; holdout?: number };
  champion?: number;
  sha256?: { train?: string; holdout?: string };
}

/** Where a retrained version's data came from (the trainer writes it into the manifest). */
function provenance(trainer: Record<string, unknown>): string[] {
  const data = trainer.trainingData as TrainingData | undefined;
  if (!data) return [];
  return [
    `Retrained on ${data.source ?? "exported events"}: window ${data.window?.since ?? "?"} … ${data.window?.until ?? "?"} (events ${data.eventTime?.first ?? "?"} … ${data.eventTime?.last ?? "?"}); ${number(data.rows?.exported ?? "?")} labelled events, ${number(data.rows?.train ?? "?")} train / ${number(data.rows?.holdout ?? "?")} holdout${data.champion ? `, against champion v${data.champion}` : ""}.`,
    `Data sha256: train \`${data.sha256?.train ?? "?"}\`, holdout \`${data.sha256?.holdout ?? "?"}\`.`,
  ];
}

interface GateEvidence {
  metric: string;
  margin: number;
  maxSegmentRegression?: number;
  candidate: number;
  champion: number;
  championVersion?: number;
  reasons?: string[];
  holdoutRows?: number;
  segmentsNotCompared?: Array<{ name: string; classCounts: number[] }>;
  championMetrics?: { segments?: Record<string, Record<string, number>> };
  candidateMetrics?: { segments?: Record<string, Record<string, number>> };
}

/** The validation gate's numbers: the newest shadow or reject decision about this version. */
function gateOf(history: readonly ModelEvent[]): { kind: string; evidence: GateEvidence } | undefined {
  const decision = [...history]
    .reverse()
    .find((e) => (e.kind === "shadow" || e.kind === "reject") && typeof e.evidence?.metric === "string");
  return decision ? { kind: decision.kind, evidence: decision.evidence as unknown as GateEvidence } : undefined;
}

function gateSections(history: readonly ModelEvent[]): Section[] {
  const gate = gateOf(history);
  if (!gate) return [];
  const g = gate.evidence;
  const segments = Object.keys(g.candidateMetrics?.segments ?? {});
  const lines = [
    `${gate.kind === "shadow" ? "Passed" : "Failed"}: holdout ${g.metric} ${number(g.candidate)} against champion${g.championVersion ? ` v${g.championVersion}` : ""}'s ${number(g.champion)} on ${number(g.holdoutRows ?? "?")} rows (margin ${number(g.margin)}${g.maxSegmentRegression !== undefined ? `, no segment worse by more than ${number(g.maxSegmentRegression)}` : ""}).`,
    ...(g.reasons ?? []).map((r) => `Refused because: ${r}.`),
    ...(g.segmentsNotCompared ?? []).map(
      (s) => `Segment ${s.name} not compared: too few events of a class in the holdout (${s.classCounts.join(" / ")}).`,
    ),
  ];
  if (segments.length === 0) return [{ title: "Validation gate", lines }];
  return [
    { title: "Validation gate", lines },
    {
      title: "Validation gate per segment",
      table: [
        ["segment", `champion ${g.metric}`, `candidate ${g.metric}`],
        ...segments.map((name) => [
          name,
          number(g.championMetrics?.segments?.[name]?.[g.metric] ?? "n/a"),
          number(g.candidateMetrics?.segments?.[name]?.[g.metric] ?? "n/a"),
        ]),
      ],
    },
  ];
}

export function cardSections(input: CardInput): Section[] {
  const { manifest, entry, history, live } = input;
  const holdout = (manifest.metrics as { holdout?: Record<string, unknown> }).holdout ?? {};
  const trainer = manifest.trainer as Record<string, unknown>;
  const sections: Section[] = [
    {
      title: "Intended use",
      lines: [
        `${manifest.task === "binary-classification" ? "Binary" : "Multi-class"} classifier for the ${input.pipeline} pipeline: scores each event of \`${input.pipeline}.features\` and writes the decision to \`${input.pipeline}.scored\`.`,
        `Classes: ${manifest.classLabels.map((l, i) => `${l} = ${manifest.classNames[i] ?? l}`).join(", ")}${manifest.positiveClass ? `; the score is the probability of class ${manifest.positiveClass}` : ""}.`,
        `State in the registry: ${entry ? `**${entry.state}**${entry.weight !== undefined ? ` (${entry.weight}% of entities)` : ""}, since ${iso(entry.changedAt)} by ${entry.changedBy}: ${entry.reason}` : "not registered"}.`,
      ],
    },
    {
      title: "Training data",
      lines: [
        `Rows: ${number(manifest.profile.rows)}; features in model order: ${manifest.featureOrder.map((f) => `\`${f}\``).join(", ")}.`,
        `Trainer: ${number(trainer.library ?? "unknown")} ${number(trainer.estimator ?? "")}, seed ${number(trainer.seed ?? "n/a")}, ${number(trainer.trainingRows ?? "n/a")} training rows.`,
        `File: \`${manifest.file}\`, sha256 \`${manifest.sha256}\`, created ${manifest.createdAt}.`,
        ...provenance(trainer),
      ],
    },
    {
      title: "Training-data profile",
      table: [
        ["feature", "type", "summary"],
        ...Object.entries({ ...manifest.profile.features, prediction: manifest.profile.prediction }).map(
          ([name, profile]) => [
            name,
            profile.type,
            profile.type === "numerical"
              ? `mean ${number(profile.mean)}, std ${number(profile.std)}, range ${number(profile.min)} … ${number(profile.max)}`
              : Object.entries(profile.frequencies)
                  .sort((a, b) => b[1] - a[1])
                  .slice(0, 5)
                  .map(([category, share]) => `${category}: ${number(share)}`)
                  .join(", "),
          ],
        ),
      ],
    },
    {
      title: "Holdout metrics",
      table: [["metric", "value"], ...Object.entries(holdout).map(([k, v]) => [k, number(v)])],
    },
    ...gateSections(history),
    {
      title: "Live quality since deployment",
      ...(live.quality.length > 0
        ? {
            table: [
              ["metric", "mean over windows", "windows", "labelled predictions"],
              ...live.quality.map((q) => [q.metric, number(q.value), String(q.windows), String(q.labelled)]),
            ],
          }
        : { lines: [live.unavailable ?? "No labelled window yet."] }),
    },
    {
      title: "Drift since deployment",
      ...(live.drift.length > 0
        ? {
            table: [
              ["feature", "windows drifted", "windows"],
              ...live.drift.map((d) => [d.feature, String(d.drifted), String(d.windows)]),
            ],
          }
        : { lines: [live.unavailable ?? "No closed window yet."] }),
    },
    {
      title: "Limitations",
      lines: [
        "Scores are only as good as the training data's coverage: a feature outside the profile above (see the drift section) is scored by extrapolation.",
        ...constantFeatures(manifest).map(
          (name) => `\`${name}\` did not vary in the training data: the model cannot have learnt anything from it.`,
        ),
        "Live quality needs labels; windows with few labels are noisy (see the labelled column).",
        gateOf(history)
          ? "Segments: the validation gate compared each category of the one-hot features (above); live metrics are not split by segment."
          : "Segments: no validation gate ran for this version, so no per-segment metrics are reported.",
      ],
    },
    {
      title: "History (audit trail)",
      table: [
        ["time", "event", "from", "to", "by", "reason"],
        ...history.map((e) => [
          iso(e.at),
          e.kind,
          e.fromState ?? "",
          e.toState ?? "",
          e.actor,
          e.reason.replaceAll("|", "/"),
        ]),
      ],
    },
  ];
  return sections;
}

export function renderMarkdown(input: CardInput): string {
  const out = [`# Model card: ${input.manifest.name} v${input.manifest.version} (${input.pipeline})`, ""];
  for (const section of cardSections(input)) {
    out.push(`## ${section.title}`, "");
    if ("lines" in section) out.push(...section.lines.map((l) => `- ${l}`));
    else {
      const [head = [], ...rows] = section.table;
      out.push(`| ${head.join(" | ")} |`, `| ${head.map(() => "---").join(" | ")} |`);
      for (const row of rows) out.push(`| ${row.join(" | ")} |`);
    }
    out.push("");
  }
  return out.join("\n");
}

function escapeHtml(text: string): string {
  return text.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;").replaceAll('"', "&quot;");
}

/** Markdown's inline code and bold as HTML; everything else escaped. */
function inline(text: string): string {
  return escapeHtml(text)
    .replace(/`([^`]+)`/g, "<code>$1</code>")
    .replace(/\*\*([^*]+)\*\*/g, "<strong>$1</strong>");
}

export function renderHtml(input: CardInput): string {
  const title = `Model card: ${input.manifest.name} v${input.manifest.version} (${input.pipeline})`;
  const body: string[] = [`<h1>${escapeHtml(title)}</h1>`];
  for (const section of cardSections(input)) {
    body.push(`<h2>${escapeHtml(section.title)}</h2>`);
    if ("lines" in section) body.push(`<ul>${section.lines.map((l) => `<li>${inline(l)}</li>`).join("")}</ul>`);
    else {
      const [head = [], ...rows] = section.table;
      body.push(
        `<table><thead><tr>${head.map((h) => `<th>${escapeHtml(h)}</th>`).join("")}</tr></thead><tbody>${rows
          .map((r) => `<tr>${r.map((c) => `<td>${escapeHtml(c)}</td>`).join("")}</tr>`)
          .join("")}</tbody></table>`,
      );
    }
  }
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title><style>body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.25rem .5rem;text-align:left}</style></head><body>${body.join("\n")}</body></html>\n`;
}
