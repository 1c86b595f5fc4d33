// Quality: realized metrics per window from labels, the monitor's estimates from the scores alone
// (estimated_*, before labels arrive), the labelled share and the label delay.
import { api, el, fmt, lineChart, part, render, section, table, time } from "../lib.js";

const headline = ["accuracy", "precision", "recall", "f1", "roc_auc", "brier"];
const estimatedOf = (metric) => `estimated_${metric}`;

render(async () => {
  const q = await api("/quality");
  return [
    part(q.series, (rows) => {
      if (rows.length === 0) return section("Quality", el("p", { class: "muted" }, "No labelled windows yet."));
      const versions = [...new Set(rows.map((r) => r.version))].sort((a, b) => a - b);
      return el(
        "div",
        {},
        ...versions.map((version) => {
          const mine = rows.filter((r) => r.version === version);
          const windows = [...new Set(mine.map((r) => r.windowStart))].sort((a, b) => a - b);
          const value = (metric, w) => mine.find((r) => r.metric === metric && r.windowStart === w)?.value ?? null;
          const metrics = headline.filter((m) => mine.some((r) => r.metric === m || r.metric === estimatedOf(m)));
          const estimated = metrics.filter((m) => mine.some((r) => r.metric === estimatedOf(m)));
          const charts = el("div", { class: "grid" });
          requestAnimationFrame(() => {
            const scores = el("div", {});
            const labels = el("div", {});
            charts.append(scores, labels);
            lineChart(scores, {
              title:
                estimated.length > 0 ? "quality per window (dashed: estimated before labels)" : "quality per window",
              x: windows,
              series: [
                ...metrics.map((m) => ({ label: m, values: windows.map((w) => value(m, w)), points: true })),
                ...estimated.map((m) => ({
                  label: `est. ${m}`,
                  values: windows.map((w) => value(estimatedOf(m), w)),
                  color: ["#1565c0", "#c62828", "#2e7d32", "#ef6c00", "#6a1b9a", "#00838f"][metrics.indexOf(m) % 6],
                  dash: [5, 4],
                })),
              ],
            });
            lineChart(labels, {
              title: "labelled share and median label delay (s)",
              x: windows,
              series: [
                { label: "labelled share", values: windows.map((w) => value("labelled_share", w)), points: true },
                {
                  label: "label delay p50 (s)",
                  values: windows.map((w) => (value("label_delay_p50_ms", w) ?? Number.NaN) / 1000),
                  scale: "s",
                },
              ],
            });
          });
          const latest = [...windows].reverse().slice(0, 12);
          return section(
            `Model v${version}`,
            charts,
            table(
              [
                ["window", (w) => time(w)],
                ...metrics.map((m) => [m, (w) => fmt(value(m, w)), true]),
                ...estimated.map((m) => [`est. ${m}`, (w) => fmt(value(estimatedOf(m), w)), true]),
                ["labelled share", (w) => fmt(value("labelled_share", w), 3), true],
                ["label delay p50 (s)", (w) => fmt((value("label_delay_p50_ms", w) ?? Number.NaN) / 1000, 3), true],
                [
                  "labelled",
                  (w) => fmt(mine.find((r) => r.windowStart === w && r.metric === "labelled_share")?.labelled),
                  true,
                ],
              ],
              latest,
              { id: `quality-v${version}`, dataset: { version: String(version) } },
            ),
            el("p", { class: "muted" }, `The newest ${latest.length} of ${windows.length} windows.`),
          );
        }),
      );
    }),
  ];
});
