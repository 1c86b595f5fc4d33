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

/** The sign-in page (when the console demands keys): a key of the `console` scope. */
export function renderLogin(next: string, refusal: string | undefined): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<link rel="icon" href="data:,">
<title>Sign in · streamscore</title>
<link rel="stylesheet" href="/assets/console.css">
</head>
<body data-page="login">
<header><strong class="brand">streamscore</strong></header>
<main>
<section>
<h2>Sign in</h2>
${refusal ? `<p class="bad" role="alert">${escapeHtml(refusal)}</p>` : ""}
<form method="post" action="/login">
<input type="hidden" name="next" value="${escapeHtml(next)}">
<label>API key (console scope) <input type="password" name="key" autocomplete="off" size="60" required></label>
<button type="submit">Sign in</button>
</form>
<p class="muted">Make one with <code>npm run cli -- keys create --file &lt;keys file&gt; --name &lt;you&gt; --pipelines payments --scopes console</code>.</p>
</section>
</main>
</body>
</html>
`;
}
