// Least privilege in ClickHouse (local stack): the writer reads and writes the streamscore
// database but runs no DDL; the analyst only reads it; neither reaches another database; the
// server listens on loopback only; the monitor, running as the writer, checks the schema instead
// of migrating it.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { networkInterfaces, tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadStackConfig } from "../../infra/local/config.ts";
import { type ClickHouse, createClickHouse } from "../../services/shared/clickhouse/client.ts";
import { checkSchema, migrate, migrationsDir, readMigrations } from "../../services/shared/clickhouse/migrations.ts";
import { testConnectionConfig, uniqueName } from "../helpers/integration.ts";

const stackConfig = loadStackConfig();
const credentialsFile = join(stackConfig.STACK_DIR, "conf", "clickhouse", "credentials.json");
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

  it("refuses the writer ALTER, TRUNCATE, RENAME, OPTIMIZE, new databases and writes elsewhere", async () => {
    for (const statement of [
      `ALTER TABLE ${table} DELETE WHERE id = 1`,
      `ALTER TABLE ${table} ADD COLUMN extra UInt8`,
      `TRUNCATE TABLE ${table}`,
      `RENAME TABLE ${table} TO ${table}_renamed`,
      `OPTIMIZE TABLE ${table}`,
      `CREATE DATABASE ${otherDatabase}_intruder`,
      `DROP DATABASE ${otherDatabase}`,
    ]) {
      await expect(writer.command(statement), statement).rejects.toThrow(/DDL queries are prohibited/);
    }
    await expect(writer.insertRows(`${otherDatabase}.secrets`, [{ id: 9 }])).rejects.toThrow(
      /Access denied to database/,
    );
    expect(await admin.query(`SELECT count() AS n FROM ${table}`)).toEqual([{ n: "2" }]);
    expect(await admin.query(`SELECT count() AS n FROM ${otherDatabase}.secrets`)).toEqual([{ n: "0" }]);
  });

  it("lets the writer insert into and read the monitor's tables, and check but not apply migrations", async () => {
    await migrate(admin, "streamscore");
    await checkSchema(writer, "streamscore");
    const pipeline = uniqueName("writer-check");
    const row = { pipeline, dlq_partition: 0, dlq_offset: 1, error_code: "TEST", key: "", value_base64: "" };
    try {
      await writer.insertRows("streamscore.dead_letters", [row]);
      expect(
        await writer.query(`SELECT count() AS n FROM streamscore.dead_letters WHERE pipeline = '${pipeline}'`),
      ).toEqual([{ n: "1" }]);
      await expect(migrate(writer, uniqueName("writer_db"))).rejects.toThrow(/DDL queries are prohibited/);
    } finally {
      await admin.command(`ALTER TABLE streamscore.dead_letters DELETE WHERE pipeline = '${pipeline}'`);
    }
  });

  it("lets the analyst read, and refuses it writes, DDL and other databases", async () => {
    expect(await analyst.query(`SELECT count() AS n FROM ${table}`)).toEqual([{ n: "2" }]);
    await expect(analyst.insertRows(table, [{ id: 3 }])).rejects.toThrow(/readonly/i);
    await expect(analyst.command(`ALTER TABLE ${table} DELETE WHERE id = 1`)).rejects.toThrow(/readonly/i);
    await expect(analyst.query(`SELECT count() FROM ${otherDatabase}.secrets`)).rejects.toThrow(
      /Access denied to database/,
    );
    for (const statement of [`DROP TABLE ${table}`, "CREATE TABLE streamscore.intruder (a UInt8) ENGINE = Memory"]) {
      await expect(analyst.command(statement), statement).rejects.toThrow(/readonly/i);
    }
  });

  it("listens on the loopback interface only", async () => {
    const rendered = readFileSync(join(stackConfig.STACK_DIR, "conf", "clickhouse", "config.xml"), "utf8");
    expect([...rendered.matchAll(/<listen_host>([^<]*)<\/listen_host>/g)].map((m) => m[1])).toEqual(["127.0.0.1"]);
    const outside = Object.values(networkInterfaces())
      .flat()
      .filter((address) => address !== undefined && !address.internal && address.family === "IPv4")
      .map((address) => address?.address as string);
    for (const host of outside) {
      const outcome = await new Promise<string>((resolve) => {
        const req = request({ host, port: stackConfig.STACK_CLICKHOUSE_HTTP_PORT, path: "/ping", timeout: 3000 });
        req.on("response", (res) => resolve(`answered ${res.statusCode}`));
        req.on("timeout", () => req.destroy(new Error("timeout")));
        req.on("error", (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
        req.end();
      });
      expect(outcome, host).not.toMatch(/^answered/);
    }
  });

  it("names the missing migration when the schema is behind", async () => {
    const database = uniqueName("behind");
    const first = mkdtempSync(join(tmpdir(), "migrations-"));
    const [oldest, ...rest] = readMigrations(database);
    if (!oldest || rest.length === 0) throw new Error("needs at least two migrations");
    const fileName = `${String(oldest.version).padStart(3, "0")}_${oldest.name}.sql`;
    writeFileSync(join(first, fileName), readFileSync(join(migrationsDir, fileName), "utf8"));
    try {
      await migrate(admin, database, first);
      const missing = rest.map((m) => `${String(m.version).padStart(3, "0")}_${m.name}`).join(", ");
      await expect(checkSchema(admin, database)).rejects.toThrow(`lacks migration ${missing}`);
      await expect(checkSchema(admin, `${database}_absent`)).rejects.toThrow(/npm run db:migrate/);
    } finally {
      rmSync(first, { recursive: true, force: true });
      await admin.command(`DROP DATABASE IF EXISTS ${database}`);
    }
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
