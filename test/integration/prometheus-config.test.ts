// promtool (Debian's prometheus package, installed with the local stack) validates the shipped
// Prometheus configs and alerting rules.
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { projectRoot } from "../../infra/local/config.ts";
import { commandExists } from "../../infra/local/processes.ts";

const hasPromtool = commandExists("promtool");

function promtool(...args: string[]) {
  return spawnSync("promtool", args, { cwd: join(projectRoot, "infra", "prometheus"), encoding: "utf8" });
}

describe.skipIf(!hasPromtool)(
  "Prometheus files (skipped when promtool is not installed, e.g. servers from env)",
  () => {
    it.each(["prometheus.yml", "prometheus.docker.yml"])("promtool accepts %s and the rules it loads", (file) => {
      const result = promtool("check", "config", file);
      expect(result.stdout + result.stderr).toMatch(/SUCCESS/);
      expect(result.status).toBe(0);
    });

    it("promtool rejects a broken rule file, so the check above can fail", () => {
      const result = spawnSync("promtool", ["check", "rules", "/dev/stdin"], {
        input: "groups:\n  - name: x\n    rules:\n      - alert: A\n        expr: up ==\n",
        encoding: "utf8",
      });
      expect(result.status).not.toBe(0);
    });
  },
);
