// Least privilege in ClickHouse (local stack): the writer reads and writes the streamscore
// database but runs no DDL; the analyst only reads it; neither reaches another database.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadStackConfig } from "../../infra/local/config.ts";
import { type ClickHouse, createClickHouse } from "../../services/monitor/clickhouse.ts";
import { testConnectionConfig, uniqueName } from "../helpers/integration.ts";

const credentialsFile = join(loadStackConfig().STACK_DIR, "conf", "clickhouse", "credentials.json");
const haveUsers = existsSync(credentialsFile);

describe.skipIf(!haveUsers)("ClickHouse users (skipped unless the servers come from the local stack)", () => {
  const config = testConnectionConfig();
  const credentials = haveUsers
    ? (JSON.parse(readFileSync(credentialsFile, "utf8")) as { writer: string; analyst: string })
    : undefined;
  const table = `streamscore.${uniqueName("privileges")}`;
  const otherDatabase = uniqueName("other");
  let admin: ClickHouse;
  let writer: ClickHouse;
  let analyst: ClickHouse;

  beforeAll(async () => {
    admin = createClickHouse(config);
    writer = createClickHouse({
      ...config,
      CLICKHOUSE_USER: "streamscore_writer",
      CLICKHOUSE_PASSWORD: credentials?.writer ?? "",
    });
    analyst = createClickHouse({
      ...config,
      CLICKHOUSE_USER: "streamscore_analyst",
      CLICKHOUSE_PASSWORD: credentials?.analyst ?? "",
    });
    await admin.command("CREATE DATABASE IF NOT EXISTS streamscore");
    await admin.command(`CREATE TABLE ${table} (id UInt32) ENGINE = MergeTree() ORDER BY id`);
    await admin.command(`CREATE DATABASE ${otherDatabase}`);
    await admin.command(`CREATE TABLE ${otherDatabase}.secrets (id UInt32) ENGINE = Memory`);
  });
  afterAll(async () => {
    await admin?.command(`DROP TABLE IF EXISTS ${table}`);
    await admin?.command(`DROP DATABASE IF EXISTS ${otherDatabase}`);
    await Promise.all([admin?.close(), writer?.close(), analyst?.close()]);
  });

  it("lets the writer insert and read, and refuses it DDL and other databases", async () => {
    await writer.insertRows(table, [{ id: 1 }, { id: 2 }]);
    expect(await writer.query(`SELECT count() AS n FROM ${table}`)).toEqual([{ n: "2" }]);
    await expect(writer.command(`DROP TABLE ${table}`)).rejects.toThrow(/DDL queries are prohibited/);
    await expect(writer.command("CREATE TABLE streamscore.intruder (a UInt8) ENGINE = Memory")).rejects.toThrow(
      /DDL queries are prohibited/,
    );
    await expect(writer.query(`SELECT count() FROM ${otherDatabase}.secrets`)).rejects.toThrow(
      /Access denied to database/,
    );
  });

  it("lets the analyst read, and refuses it writes, DDL and other databases", async () => {
    expect(await analyst.query(`SELECT count() AS n FROM ${table}`)).toEqual([{ n: "2" }]);
    await expect(analyst.insertRows(table, [{ id: 3 }])).rejects.toThrow(/readonly/i);
    await expect(analyst.command(`ALTER TABLE ${table} DELETE WHERE id = 1`)).rejects.toThrow(/readonly/i);
    await expect(analyst.query(`SELECT count() FROM ${otherDatabase}.secrets`)).rejects.toThrow(
      /Access denied to database/,
    );
  });

  it("refuses a wrong password", async () => {
    const wrong = createClickHouse({
      ...config,
      CLICKHOUSE_USER: "streamscore_analyst",
      CLICKHOUSE_PASSWORD: "not-the-password",
    });
    await expect(wrong.query("SELECT 1")).rejects.toThrow(/password|Authentication/i);
    await wrong.close();
  });
});
