// The ClickHouse adapter: the only module that imports the ClickHouse client.
// The SQL it sends must run on ClickHouse 18.16 (Debian's package) as well as on current servers,
// so it uses no query parameters, no DateTime64 and no settings that 18.16 lacks.
import { type ClickHouseClient, createClient } from "@clickhouse/client";
import type { ConnectionConfig } from "../shared/connection-settings.ts";
import { describeError, StreamscoreError } from "../shared/errors.ts";

export type ClickHouseConfig = Pick<ConnectionConfig, "CLICKHOUSE_URL" | "CLICKHOUSE_USER" | "CLICKHOUSE_PASSWORD">;

export interface ClickHouse {
  /** Runs a statement that returns no rows (DDL, OPTIMIZE, ...). */
  command(sql: string): Promise<void>;
  /** Runs a SELECT and returns its rows as objects (64-bit integers arrive as strings). */
  query<Row>(sql: string): Promise<Row[]>;
  insertRows(table: string, rows: readonly object[]): Promise<void>;
  ping(): Promise<boolean>;
  close(): Promise<void>;
}

function failure(what: string, error: unknown): StreamscoreError {
  const message = describeError(error);
  const unreachable = /ECONNREFUSED|ECONNRESET|socket hang up|timeout|EPIPE/i.test(message);
  return new StreamscoreError(
    unreachable ? "CLICKHOUSE_UNAVAILABLE" : "CLICKHOUSE_QUERY_FAILED",
    `${what}: ${message}`,
    {
      cause: error,
    },
  );
}

export function createClickHouse(config: ClickHouseConfig, database?: string): ClickHouse {
  const client: ClickHouseClient = createClient({
    url: config.CLICKHOUSE_URL,
    username: config.CLICKHOUSE_USER,
    password: config.CLICKHOUSE_PASSWORD,
    database,
    request_timeout: 60_000,
    compression: { request: false, response: false },
  });

  return {
    async command(sql) {
      try {
        await client.command({ query: sql });
      } catch (error) {
        throw failure(`ClickHouse command failed (${sql.slice(0, 80)})`, error);
      }
    },
    async query<Row>(sql: string) {
      try {
        const result = await client.query({ query: sql, format: "JSONEachRow" });
        return await result.json<Row>();
      } catch (error) {
        throw failure(`ClickHouse query failed (${sql.slice(0, 80)})`, error);
      }
    },
    async insertRows(table, rows) {
      try {
        await client.insert({ table, values: rows as object[], format: "JSONEachRow" });
      } catch (error) {
        throw failure(`ClickHouse insert into ${table} failed`, error);
      }
    },
    async ping() {
      const result = await client.ping();
      return result.success;
    },
    close: () => client.close(),
  };
}
