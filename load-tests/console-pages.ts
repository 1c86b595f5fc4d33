// `node load-tests/console-pages.ts [--url http://127.0.0.1:8084] [--pipeline payments] [--loads 5]`:
// how long each console page takes in Debian's Chromium, from navigation to the page saying it is
// filled (body[data-ready]), on whatever data the running stack holds (e.g. a day of demo data:
// DEMO_SECONDS=87 DEMO_RATE=2000 npm run demo). Prints the median and the slowest of `loads` loads
// per page, and the window histogram's API time, as a Markdown table.
import { parseArgs } from "node:util";
import { launchChromium } from "../tools/browser.ts";
import { percentile } from "./bench/stats.ts";

const { values } = parseArgs({
  options: {
    url: { type: "string", default: "http://127.0.0.1:8084" },
    pipeline: { type: "string", default: "payments" },
    loads: { type: "string", default: "5" },
  },
});
const url = values.url as string;
const pipeline = values.pipeline as string;
const loads = Number(values.loads);

async function main(): Promise<void> {
  const browser = await launchChromium();
  const rows: string[] = [];
  try {
    const page = await browser.context.newPage();
    for (const name of ["overview", "drift", "quality", "models", "dead-letters"]) {
      const times: number[] = [];
      for (let i = 0; i < loads; i += 1) {
        const started = performance.now();
        await page.goto(`${url}/pipelines/${pipeline}/${name}`);
        await page.waitForSelector("body[data-ready=true]", { timeout: 30_000 });
        times.push(performance.now() - started);
      }
      rows.push(`| ${name} | ${percentile(times, 0.5).toFixed(0)} | ${Math.max(...times).toFixed(0)} |`);
    }
    // One heatmap cell: the window's statistics and its histogram from the stored predictions.
    await page.goto(`${url}/pipelines/${pipeline}/drift`);
    await page.waitForSelector("body[data-ready=true]");
    const cell = page.locator("#heatmap td.cell[data-feature=amount]").last();
    const times: number[] = [];
    for (let i = 0; i < loads; i += 1) {
      const started = performance.now();
      await cell.click();
      await page.waitForSelector("#histogram-chart canvas");
      times.push(performance.now() - started);
      await page.locator("#detail").evaluate((detail) => detail.replaceChildren());
    }
    rows.push(
      `| drift: a cell's histogram | ${percentile(times, 0.5).toFixed(0)} | ${Math.max(...times).toFixed(0)} |`,
    );
    const cells = await page.locator("#heatmap td.cell").count();
    console.log(
      `${cells} heatmap cells (model v1)\n\n| page | median ms | slowest ms |\n|---|---|---|\n${rows.join("\n")}`,
    );
  } finally {
    await browser.close();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
