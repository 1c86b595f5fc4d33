// Debian's Chromium driven by playwright-core, for the console's browser tests and screenshots.
// Installed from Debian's packages on first use (never a browser download), started headless with
// a fresh profile each time.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type BrowserContext, chromium } from "playwright-core";
import { ensureDebianPackages } from "../infra/local/install.ts";

export const chromiumPath = "/usr/bin/chromium";

export interface LaunchedBrowser {
  /** A context on the fresh profile: open pages with context.newPage(). */
  context: BrowserContext;
  close(): Promise<void>;
}

export async function launchChromium(): Promise<LaunchedBrowser> {
  ensureDebianPackages([{ command: "chromium", pkg: "chromium" }]);
  const profile = mkdtempSync(join(tmpdir(), "streamscore-chromium-"));
  // playwright passes the profile as --user-data-dir itself.
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: chromiumPath,
    headless: true,
    viewport: { width: 1360, height: 900 },
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--no-first-run",
    ],
  });
  return {
    context,
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
