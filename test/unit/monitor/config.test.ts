import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { loadMigrationConfig, loadMonitorConfig } from "../../../services/monitor/config.ts";

describe("monitor and migration settings", () => {
  const dir = mkdtempSync(join(tmpdir(), "monitor-config-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("connects migrations as the administrator and the monitor as its own user", () => {
    const adminFile = join(dir, "admin.password");
    writeFileSync(adminFile, "admin-secret\n");
    const env = {
      CLICKHOUSE_USER: "streamscore_writer",
      CLICKHOUSE_PASSWORD: "writer-secret",
      CLICKHOUSE_ADMIN_USER: "ops",
      CLICKHOUSE_ADMIN_PASSWORD_FILE: adminFile,
    };
    const migration = loadMigrationConfig(env);
    expect([migration.CLICKHOUSE_USER, migration.CLICKHOUSE_PASSWORD]).toEqual(["ops", "admin-secret"]);
    const monitor = loadMonitorConfig(env);
    expect([monitor.CLICKHOUSE_USER, monitor.CLICKHOUSE_PASSWORD]).toEqual(["streamscore_writer", "writer-secret"]);
  });

  it("defaults the administrator to the server's default user", () => {
    const migration = loadMigrationConfig({ CLICKHOUSE_ADMIN_PASSWORD: "p" });
    expect([migration.CLICKHOUSE_USER, migration.CLICKHOUSE_PASSWORD]).toEqual(["default", "p"]);
  });
});
