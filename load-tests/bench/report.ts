// The benchmark's one table, as Markdown (with the machine and the settings above it) and as JSON.
// Pure: the caller measures, this only formats.
import type { Summary } from "./stats.ts";

export interface Row {
  /** "1 raw", "2 stage", "3 pipeline", "4 ratio". */
  section: string;
  measure: string;
  unit: string;
  /** Undefined when the figure could not be measured (the note says why). */
  value: Summary | undefined;
  /** The stage's bound from the raw limits, same unit as value. */
  bound?: number;
  /** Human form of a target, e.g. "≥ 70%". */
  target?: string;
  met?: boolean | undefined;
  note?: string;
}

export interface BenchReport {
  startedAt: string;
  durationSeconds: number;
  machine: Record<string, string>;
  settings: Record<string, string | number>;
  rows: Row[];
  notes: string[];
}

/** Compact numbers: thousands separated above 1,000, three significant digits below. */
export function formatNumber(value: number, unit = ""): string {
  if (!Number.isFinite(value)) return String(value);
  if (unit === "%") return `${(value * 100).toFixed(1)}%`;
  const abs = Math.abs(value);
  if (abs >= 1000) return Math.round(value).toLocaleString("en-US");
  if (abs === 0) return "0";
  return Number(value.toPrecision(3)).toString();
}

function cell(text: string): string {
  return text.replace(/\|/g, "\\|").replace(/\n/g, " ");
}

function mark(met: boolean | undefined): string {
  return met === undefined ? "" : met ? "✔" : "✘";
}

const header = ["Section", "Measure", "Median", "Min", "Max", "Unit", "Bound", "Target", "Met", "Note"];

export function renderTable(rows: readonly Row[]): string {
  const lines = [`| ${header.join(" | ")} |`, `| ${header.map(() => "---").join(" | ")} |`];
  for (const row of rows) {
    const unit = row.unit;
    const v = row.value;
    const shownUnit = unit === "%" ? "" : unit;
    const cells = [
      row.section,
      row.measure,
      v ? formatNumber(v.median, unit) : "n/a",
      v ? formatNumber(v.min, unit) : "",
      v ? formatNumber(v.max, unit) : "",
      shownUnit,
      row.bound === undefined ? "" : formatNumber(row.bound, unit),
      row.target ?? "",
      mark(row.met),
      row.note ?? "",
    ];
    lines.push(`| ${cells.map(cell).join(" | ")} |`);
  }
  return lines.join("\n");
}

export function renderMarkdown(report: BenchReport): string {
  const list = (entries: Record<string, string | number>) =>
    Object.entries(entries)
      .map(([key, value]) => `- ${key}: ${value}`)
      .join("\n");
  const parts = [
    `# streamscore benchmark — ${report.startedAt}`,
    `Took ${Math.round(report.durationSeconds)} s. Every figure is the median of its runs (warm-up excluded), with min and max.`,
    "## Machine",
    list(report.machine),
    "## Settings",
    list(report.settings),
    "## Results",
    renderTable(report.rows),
  ];
  if (report.notes.length > 0) parts.push("## Notes", report.notes.map((n) => `- ${n}`).join("\n"));
  return `${parts.join("\n\n")}\n`;
}

/**
 * The sections a run could not measure (their notes), so that the bench fails instead of reporting
 * success with rows left empty.
 */
export function unmeasuredSections(report: Pick<BenchReport, "notes">): string[] {
  return report.notes.filter((note) => note.includes(": not measured — "));
}

/** A latency run the ingest API did not take whole, with its refusals by status and error code. */
export interface RefusedRun {
  rate: number;
  accepted: number;
  sent: number;
  refusals?: Record<string, number>;
}

/** "429 BACK_PRESSURE × 12, 503 OVERLOADED × 3": why the API refused requests of a run. */
export function describeRefusals(refusals: Record<string, number> | undefined): string {
  const entries = Object.entries(refusals ?? {}).sort(([, a], [, b]) => b - a);
  return entries.length > 0 ? entries.map(([reason, n]) => `${reason} × ${n}`).join(", ") : "none answered";
}
