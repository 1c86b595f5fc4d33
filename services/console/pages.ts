// The console's HTML: one shell per page, the same navigation on each; the page's script fills it
// from the console's JSON API. Pure.

export const pageNames = ["overview", "drift", "quality", "models", "dead-letters"] as const;
export type PageName = (typeof pageNames)[number];

const titles: Record<PageName, string> = {
  overview: "Overview",
  drift: "Drift",
  quality: "Quality",
  models: "Models",
  "dead-letters": "Dead letters",
};

const escapeHtml = (text: string) =>
  text.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c] ?? c);

export function renderPage(page: PageName, pipeline: string, pipelines: readonly string[]): string {
  const p = escapeHtml(pipeline);
  const nav = pageNames
    .map((name) => {
      const current = name === page ? ' aria-current="page"' : "";
      return `<a href="/pipelines/${p}/${name}"${current}>${titles[name]}</a>`;
    })
    .join("");
  const options = pipelines
    .map((name) => {
      const n = escapeHtml(name);
      return `<option value="${n}"${name === pipeline ? " selected" : ""}>${n}</option>`;
    })
    .join("");
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title>${titles[page]} · ${p} · streamscore</title>
<link rel="stylesheet" href="/assets/vendor/uPlot.min.css">
<link rel="stylesheet" href="/assets/console.css">
</head>
<body data-page="${page}" data-pipeline="${p}">
<header>
  <strong class="brand">streamscore</strong>
  <label>pipeline <select id="pipeline">${options}</select></label>
  <nav>${nav}</nav>
</header>
<main id="main"><p class="loading">Loading…</p></main>
<script src="/assets/vendor/uPlot.iife.min.js"></script>
<script type="module" src="/assets/pages/${page}.js"></script>
</body>
</html>
`;
}
