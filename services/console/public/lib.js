// What every console page shares: fetching its JSON, building elements, formatting, charts.

export const pipeline = document.body.dataset.pipeline;

document.getElementById("pipeline")?.addEventListener("change", (event) => {
  location.href = `/pipelines/${event.target.value}/${document.body.dataset.page}`;
});

/** GET a console API path of this pipeline; throws with the server's error text. */
export async function api(path) {
  const response = await fetch(`/api/pipelines/${pipeline}${path}`);
  const body = await response.json();
  if (!response.ok) throw new Error(body.error ?? `HTTP ${response.status}`);
  return body;
}

/** An element with attributes (on* as listeners) and children (strings become text). */
export function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else if (name === "dataset") Object.assign(node.dataset, value);
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

export function section(title, ...children) {
  return el("section", {}, el("h2", {}, title), ...children);
}

/** A part the server could not read shows why instead of its data. */
export function part(p, render) {
  if (!p.ok) return el("p", { class: "unavailable" }, p.error);
  return render(p.data);
}

/** A table from rows; `columns` are [header, value(row), numeric?]. */
export function table(columns, rows, attributes = {}) {
  return el(
    "table",
    attributes,
    el("thead", {}, el("tr", {}, ...columns.map(([h, , n]) => el("th", { class: n ? "num" : undefined }, h)))),
    el(
      "tbody",
      {},
      ...rows.map((row) =>
        el("tr", {}, ...columns.map(([, value, n]) => el("td", { class: n ? "num" : undefined }, value(row)))),
      ),
    ),
  );
}

/** Numbers as the pages show them (tests read them back with the same rule). */
export function fmt(value, digits = 4) {
  if (value === null || value === undefined || Number.isNaN(value)) return "–";
  if (Number.isInteger(value)) return value.toLocaleString("en-US");
  return Number(value.toPrecision(digits)).toString();
}

export function time(epochSeconds) {
  return new Date(epochSeconds * 1000).toISOString().slice(0, 16).replace("T", " ");
}

export function show(...nodes) {
  document.getElementById("main").replaceChildren(...nodes);
}

export async function render(load) {
  try {
    show(...(await load()));
  } catch (error) {
    show(el("p", { class: "bad", role: "alert" }, `Could not load this page: ${error.message}`));
  }
  document.body.dataset.ready = "true";
}

const palette = ["#1565c0", "#c62828", "#2e7d32", "#ef6c00", "#6a1b9a", "#00838f", "#5d4037"];

/** A time-series chart (x in epoch seconds); `marks` draws vertical lines (e.g. alerts). */
export function lineChart(container, { title, x, series, width = 640, height = 220, marks = [] }) {
  const options = {
    title,
    width,
    height,
    // Every time on the console is UTC, as in ClickHouse.
    tzDate: (seconds) => window.uPlot.tzDate(new Date(seconds * 1000), "Etc/UTC"),
    series: [
      {},
      ...series.map((s, i) => ({
        label: s.label,
        scale: s.scale ?? "y",
        stroke: s.color ?? palette[i % palette.length],
        dash: s.dash,
        width: 1.5,
        points: { show: s.points ?? false },
      })),
    ],
    // A series on a scale of its own (e.g. seconds beside a share) gets an axis on the right.
    axes: [
      {},
      {},
      ...[...new Set(series.map((s) => s.scale).filter((scale) => scale && scale !== "y"))].map((scale) => ({
        scale,
        side: 1,
        grid: { show: false },
      })),
    ],
    hooks: {
      draw: [
        (u) => {
          const { ctx } = u;
          for (const mark of marks) {
            const left = u.valToPos(mark.x, "x", true);
            ctx.save();
            ctx.strokeStyle = mark.color;
            ctx.setLineDash([4, 3]);
            ctx.beginPath();
            ctx.moveTo(left, u.bbox.top);
            ctx.lineTo(left, u.bbox.top + u.bbox.height);
            ctx.stroke();
            ctx.restore();
          }
        },
      ],
    },
  };
  return new window.uPlot(options, [x, ...series.map((s) => s.values)], container);
}

/** Bars on a category axis: one group per label, two series side by side at most. */
export function barChart(container, { title, labels, series, width = 640, height = 240 }) {
  const align = series.length === 1 ? [0] : [-1, 1];
  const options = {
    title,
    width,
    height,
    scales: { x: { time: false, range: [-0.6, labels.length - 0.4] } },
    axes: [{ values: (_u, ticks) => ticks.map((t) => labels[t] ?? ""), rotate: -30, size: 70, space: 20 }, {}],
    series: [
      {},
      ...series.map((s, i) => ({
        label: s.label,
        fill: `${palette[i % palette.length]}99`,
        stroke: palette[i % palette.length],
        paths: window.uPlot.paths.bars({ size: [0.4, 60], align: align[i] ?? 0 }),
        points: { show: false },
      })),
    ],
  };
  return new window.uPlot(options, [labels.map((_, i) => i), ...series.map((s) => s.values)], container);
}
