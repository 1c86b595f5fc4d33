// `node tools/console-screenshots.ts [--url http://127.0.0.1:8084] [--pipeline payments] [--out docs/console]`:
// drives Debian's Chromium through every console page of a running console (e.g. after
// `npm run demo`), opens the drift heatmap's most recent drifted cell and a feature's history, and
// writes one PNG per view: the README's screenshots.
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { launchChromium } from "./browser.ts";

const { values } = parseArgs({
  options: {
    url: { type: "string", default: "http://127.0.0.1:8084" },
    pipeline: { type: "string", default: "payments" },
    out: { type: "string", default: "docs/console" },
  },
});
const { url, pipeline, out } = values as { url: string; pipeline: string; out: string };

async function main(): Promise<void> {
  mkdirSync(out, { recursive: true });
  const browser = await launchChromium();
  try {
    const page = await browser.context.newPage();
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(e.message));
    const shot = async (name: string) => {
      const file = join(out, `${name}.png`);
      await page.screenshot({ path: file, fullPage: true });
      console.log(`wrote ${file}`);
    };
    for (const name of ["overview", "quality", "models", "dead-letters", "drift"]) {
      await page.goto(`${url}/pipelines/${pipeline}/${name}`);
      await page.waitForSelector("body[data-ready=true]", { timeout: 15_000 });
      if (name === "dead-letters")
        for (const record of await page.locator("#dead-letter-sample details").all())
          await record.locator("summary").click();
      if (name !== "drift") await shot(name);
    }
    const drifted = page.locator("#heatmap td.cell[data-drifted=true][data-feature=amount]");
    if ((await drifted.count()) > 0) {
      await drifted.last().click();
      await page.waitForSelector("#histogram-chart canvas");
    }
    await shot("drift");
    await page.locator("#heatmap th.feature", { hasText: /^amount$/ }).click();
    await page.waitForSelector("#feature-chart canvas");
    await shot("drift-feature");
    if (errors.length > 0) throw new Error(`the pages raised errors: ${errors.join("; ")}`);
  } finally {
    await browser.close();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
