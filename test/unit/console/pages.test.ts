import { describe, expect, it } from "vitest";
import { pageNames, renderPage } from "../../../services/console/pages.ts";

describe("renderPage", () => {
  it("links every page of the pipeline and marks the current one", () => {
    const html = renderPage("drift", "payments", ["payments", "iris"]);
    for (const page of pageNames) expect(html).toContain(`href="/pipelines/payments/${page}"`);
    expect(html).toContain('<a href="/pipelines/payments/drift" aria-current="page">Drift</a>');
    expect(html).toContain('<option value="payments" selected>payments</option><option value="iris">iris</option>');
    expect(html).toContain('<script type="module" src="/assets/pages/drift.js"></script>');
  });

  it("loads nothing from another origin", () => {
    const html = renderPage("overview", "payments", ["payments"]);
    expect(html).not.toMatch(/(src|href)="(https?:)?\/\//);
  });

  it("escapes names", () => {
    const html = renderPage("overview", '<x">', ['<x">']);
    expect(html).not.toContain('<x">');
    expect(html).toContain("&lt;x&quot;&gt;");
  });
});
