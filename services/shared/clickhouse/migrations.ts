// Versioned ClickHouse DDL from infra/clickhouse/migrations, applied in order by an administrator
// (`npm run db:migrate`, the demo, the test harness) and recorded in schema_migrations. The monitor
// runs as a user without DDL rights and only checks at start that every migration is applied.
// Files are numbered (NNN_name.sql); ${DATABASE} is the database.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { isStreamscoreError, StreamscoreError } from "../errors.ts";
import { projectRoot } from "../project.ts";
import type { ClickHouse } from "./client.ts";

export const migrationsDir = join(projectRoot, "infra", "clickhouse", "migrations");

export interface Migration {
  version: number;
  name: string;
  statements: string[];
}

/** Splits a file into statements at semicolons that end a line, dropping `--` comment lines. */
export function parseMigration(fileName: string, text: string, database: string): Migration {
  const match = /^(\d+)_(.+)\.sql$/.exec(fileName);
  if (!match) throw new StreamscoreError("MIGRATION_FAILED", `migration file ${fileName} is not named NNN_name.sql`);
  const body = text
    .split("\n")
    .filter((line) => !line.trim().startsWith("--"))
    .join("\n")
    // biome-ignore lint/suspicious/noTemplateCurlyInString: the placeholder is literal text in the SQL files
    .replaceAll("${DATABASE}", database);
  const statements = body
    .split(/;\s*$/m)
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  return { version: Number(match[1]), name: match[2] as string, statements };
}

export function readMigrations(database: string, dir = migrationsDir): Migration[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith(".sql"))
    .sort()
    .map((f) => parseMigration(f, readFileSync(join(dir, f), "utf8"), database));
}

/** Applies what is not applied yet; returns the versions it applied. */
export async function migrate(clickhouse: ClickHouse, database: string, dir = migrationsDir): Promise<number[]> {
  await clickhouse.command(`CREATE DATABASE IF NOT EXISTS ${database}`);
  await clickhouse.command(
    `CREATE TABLE IF NOT EXISTS ${database}.schema_migrations (version UInt32, name String, applied_at DateTime('UTC') DEFAULT now()) ENGINE = TinyLog`,
  );
  const rows = await clickhouse.query<{ version: number }>(`SELECT version FROM ${database}.schema_migrations`);
  const done = new Set(rows.map((r) => Number(r.version)));
  const applied: number[] = [];
  for (const migration of readMigrations(database, dir)) {
    if (done.has(migration.version)) continue;
    for (const statement of migration.statements) {
      try {
        await clickhouse.command(statement);
      } catch (error) {
        throw new StreamscoreError(
          "MIGRATION_FAILED",
          `migration ${migration.version}_${migration.name} failed: ${(error as Error).message}`,
          {
            cause: error,
          },
        );
      }
    }
    await clickhouse.insertRows(`${database}.schema_migrations`, [
      { version: migration.version, name: migration.name },
    ]);
    applied.push(migration.version);
  }
  return applied;
}

/** Fails, naming what is missing, unless every migration in `dir` is recorded as applied. */
export async function checkSchema(clickhouse: ClickHouse, database: string, dir = migrationsDir): Promise<void> {
  const hint = "apply them with `npm run db:migrate` (as the CLICKHOUSE_ADMIN_USER)";
  let rows: Array<{ version: number }>;
  try {
    rows = await clickhouse.query<{ version: number }>(`SELECT version FROM ${database}.schema_migrations`);
  } catch (error) {
    if (isStreamscoreError(error) && error.code === "CLICKHOUSE_UNAVAILABLE") throw error;
    throw new StreamscoreError(
      "MIGRATION_MISSING",
      `ClickHouse database ${database} has no readable schema_migrations table: ${hint}`,
      { cause: error },
    );
  }
  const done = new Set(rows.map((r) => Number(r.version)));
  const missing = readMigrations(database, dir).filter((m) => !done.has(m.version));
  if (missing.length > 0) {
    throw new StreamscoreError(
      "MIGRATION_MISSING",
      `ClickHouse database ${database} lacks migration ${missing.map((m) => `${String(m.version).padStart(3, "0")}_${m.name}`).join(", ")}: ${hint}`,
    );
  }
}
