// Drift: features × windows coloured by the deciding statistic against its threshold; a cell opens
// that window's histogram against the training profile's bins and every statistic of the window; a
// feature's name opens its statistic over time with the threshold and the alerts.
import { api, barChart, el, fmt, lineChart, part, render, section, table, time } from "../lib.js";

// p-values drift when they fall below the threshold; distances when they rise above it.
const lowerIsWorse = (statistic) => /PValue$/.test(statistic);

/** 0 (far from drifting) … 1 (at the threshold) … 2 (far past it). */
function severity(cell) {
  if (!Number.isFinite(cell.value) || !(cell.threshold > 0)) return 0;
  const ratio = lowerIsWorse(cell.statistic)
    ? cell.threshold / Math.max(cell.value, 1e-12)
    : cell.value / cell.threshold;
  return Math.min(2, ratio);
}

function colour(cell) {
  if (cell.warmUp) return "repeating-linear-gradient(45deg, #d5d9e0 0 3px, #eef0f3 3px 6px)";
  const s = severity(cell);
  if (cell.drifted) return `hsl(0, 70%, ${Math.round(62 - (s - 1) * 20)}%)`;
  return `hsl(${Math.round(130 - s * 60)}, 45%, ${Math.round(88 - s * 22)}%)`;
}

const detail = el("div", { id: "detail" });

async function openWindow(cell, td) {
  for (const selected of document.querySelectorAll("td.cell.selected")) selected.classList.remove("selected");
  td.classList.add("selected");
  detail.replaceChildren(el("p", { class: "loading" }, "Loading the window…"));
  const w = await api(
    `/drift/window?version=${cell.version}&feature=${encodeURIComponent(cell.feature)}&start=${cell.windowStart}`,
  );
  const chart = el("div", { id: "histogram-chart" });
  detail.replaceChildren(
    section(
      `${cell.feature} · window ${time(w.window.start)} – ${time(w.window.end).slice(11)} UTC · model v${cell.version}`,
      el(
        "div",
        { class: "grid" },
        el(
          "div",
          {},
          part(w.histogram, (h) => {
            requestAnimationFrame(() =>
              barChart(chart, {
                title: `share of events per bin (${fmt(h.total)} in the window)`,
                labels: h.bins.map((b) => b.label),
                series: [
                  { label: "training reference", values: h.bins.map((b) => b.reference) },
                  { label: "this window", values: h.bins.map((b) => b.window) },
                ],
              }),
            );
            return el(
              "div",
              {},
              chart,
              table(
                [
                  ["bin", (b) => b.label],
                  ["reference share", (b) => fmt(b.reference, 3), true],
                  ["window share", (b) => fmt(b.window, 3), true],
                  ["window events", (b) => fmt(b.windowCount), true],
                ],
                h.bins,
                { id: "histogram" },
              ),
            );
          }),
        ),
        part(w.statistics, (rows) =>
          table(
            [
              ["statistic", (r) => r.statistic],
              ["value", (r) => fmt(r.value), true],
              ["threshold", (r) => fmt(r.threshold), true],
              ["verdict", (r) => el("span", { class: r.drifted ? "bad" : "ok" }, r.drifted ? "drifted" : "no drift")],
              ["events", (r) => fmt(r.sampleSize), true],
            ],
            rows,
            { id: "window-statistics" },
          ),
        ),
      ),
    ),
  );
}

function openFeature(feature, cells, alerts) {
  const series = cells.filter((c) => c.feature === feature);
  const marks = alerts.filter((a) => a.feature === feature);
  const chart = el("div", { id: "feature-chart" });
  detail.replaceChildren(
    section(
      `${feature}: ${series[0]?.statistic ?? ""} per window`,
      chart,
      marks.length === 0
        ? el("p", { class: "muted" }, "No alert fired for this feature in these windows.")
        : table(
            [
              ["alert", (a) => el("span", { class: a.transition === "firing" ? "bad" : "ok" }, a.transition)],
              ["at window end", (a) => time(a.windowEnd)],
            ],
            marks,
            { id: "feature-alerts" },
          ),
    ),
  );
  requestAnimationFrame(() =>
    lineChart(chart, {
      title: "dashed lines: alerts fired (red) and resolved (green)",
      x: series.map((c) => c.windowEnd),
      series: [
        { label: series[0]?.statistic ?? "statistic", values: series.map((c) => c.value), points: true },
        { label: "threshold", values: series.map((c) => c.threshold), color: "#c62828", dash: [6, 4] },
      ],
      marks: marks.map((a) => ({ x: a.windowEnd, color: a.transition === "firing" ? "#c62828" : "#2e7d32" })),
      width: 900,
    }),
  );
}

function heatmap(cells, alerts, version, warmUp) {
  const mine = cells.filter((c) => c.version === version);
  const windows = [...new Set(mine.map((c) => c.windowStart))].sort((a, b) => a - b);
  const features = [...new Set(mine.map((c) => c.feature))].sort((a, b) =>
    a === "prediction" ? 1 : b === "prediction" ? -1 : a.localeCompare(b),
  );
  const byKey = new Map(mine.map((c) => [`${c.feature}|${c.windowStart}`, c]));
  const every = Math.max(1, Math.ceil(windows.length / 24));
  const head = el(
    "tr",
    {},
    el("th", {}, "feature"),
    ...windows.map((w, i) => el("th", { class: "time" }, i % every === 0 ? time(w).slice(11) : "")),
  );
  const rows = features.map((feature) =>
    el(
      "tr",
      {},
      el("th", { class: "feature", onclick: () => openFeature(feature, mine, alerts) }, feature),
      ...windows.map((w) => {
        const cell = byKey.get(`${feature}|${w}`);
        if (!cell) return el("td", { class: "cell", style: "background: #eee" });
        const td = el("td", {
          class: "cell",
          style: `background: ${colour(cell)}`,
          title: `${feature} ${time(w)}: ${cell.statistic} ${fmt(cell.value)} (threshold ${fmt(cell.threshold)})${cell.drifted ? " drifted" : ""}${cell.warmUp ? " (warming up: not judged)" : ""}`,
          dataset: {
            feature,
            window: String(w),
            drifted: String(cell.drifted),
            warmUp: String(cell.warmUp),
            value: String(cell.value),
          },
        });
        td.addEventListener("click", () => openWindow(cell, td));
        return td;
      }),
    ),
  );
  const drifted = mine.filter((c) => c.drifted);
  return [
    el(
      "p",
      {},
      `${windows.length} windows from ${windows.length ? time(windows[0]) : "–"} UTC; `,
      el("b", { id: "drifted-count" }, String(drifted.length)),
      " drifted cells. Click a cell for its histogram, a feature for its history.",
    ),
    el(
      "p",
      { class: "legend" },
      el("span", { style: `background: ${colour({ value: 0, threshold: 1, statistic: "psi", drifted: false })}` }),
      "far from the threshold",
      el("span", { style: `background: ${colour({ value: 0.9, threshold: 1, statistic: "psi", drifted: false })}` }),
      "near it",
      el("span", { style: `background: ${colour({ value: 1.5, threshold: 1, statistic: "psi", drifted: true })}` }),
      "drifted",
      warmUp.seconds > 0 && el("span", { style: `background: ${colour({ warmUp: true })}` }),
      warmUp.seconds > 0 &&
        `warming up: ${warmUp.features.join(", ")} count only the history seen so far for the first ${warmUp.seconds / 60} minutes after the pipeline's first event, so they are not judged there`,
    ),
    el(
      "div",
      { style: "overflow-x: auto" },
      el("table", { class: "heatmap", id: "heatmap" }, el("thead", {}, head), el("tbody", {}, ...rows)),
    ),
  ];
}

render(async () => {
  const d = await api("/drift");
  return [
    section(
      "Drift per feature and window",
      part(d.cells, (cells) => {
        if (cells.length === 0) return el("p", { class: "muted" }, "No closed windows yet.");
        // The version with the newest window leads; others are one click away.
        const versions = [...new Set(cells.map((c) => c.version))].sort((a, b) => a - b);
        const newest = cells.reduce((a, c) => (c.windowEnd > a.windowEnd ? c : a)).version;
        const holder = el("div", {}, ...heatmap(cells, d.alerts.ok ? d.alerts.data : [], newest, d.warmUp));
        const picker = el(
          "select",
          {
            id: "version",
            onchange: (e) =>
              holder.replaceChildren(...heatmap(cells, d.alerts.ok ? d.alerts.data : [], Number(e.target.value))),
          },
          ...versions.map((v) => el("option", { value: v, selected: v === newest }, `model v${v}`)),
        );
        return el("div", {}, el("label", {}, "model version ", picker), holder);
      }),
    ),
    detail,
  ];
});
