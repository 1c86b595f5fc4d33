// The ClickHouse adapter: the only module that imports the ClickHouse client.
// The SQL it sends must run on ClickHouse 18.16 (Debian's package) as well as on current servers,
// so it uses no query parameters, no DateTime64 and no settings that 18.16 lacks.
// The hot tables' inserts go as RowBinary over plain HTTP (Node's fetch): the official client
// streams only text formats into 18.16, and only the binary format keeps Float64 values exact.
import { type ClickHouseClient, createClient } from "@clickhouse/client";
import type { ConnectionConfig } from "../connection-settings.ts";
import { describeError, StreamscoreError } from "../errors.ts";
import type { EncodedRows } from "./row-binary.ts";

export type ClickHouseConfig = Pick<ConnectionConfig, "CLICKHOUSE_URL" | "CLICKHOUSE_USER" | "CLICKHOUSE_PASSWORD">;

export interface ClickHouse {
  /** Runs a statement that returns no rows (DDL, OPTIMIZE, ...). */
  command(sql: string): Promise<void>;
  /** Runs a SELECT and returns its rows as objects (64-bit integers arrive as strings). */
  query<Row>(sql: string): Promise<Row[]>;
  /** Inserts rows as JSONEachRow (small, cold tables). */
  insertRows(table: string, rows: readonly object[]): Promise<void>;
  /** Inserts rows encoded as RowBinary (see row-binary.ts), bit-exact and without JSON. */
  insertRowBinary(table: string, encoded: EncodedRows, options?: InsertOptions): Promise<void>;
  ping(): Promise<boolean>;
  close(): Promise<void>;
}

export interface InsertOptions {
  /**
   * ClickHouse's query_id. While a query with this id runs, the server refuses another one (code 216,
   * reported as retriable), so retries that reuse it cannot overlap a late copy of an earlier attempt.
   */
  queryId?: string;
}

/** QUERY_WITH_SAME_ID_IS_ALREADY_RUNNING; 18.16 answers HTTP 500 with "Code: 216, ..." and no code header. */
const sameQueryIdRunning = "216";

function failure(what: string, error: unknown): StreamscoreError {
  // fetch reports network failures as "fetch failed" with the socket error as its cause.
  const cause = (error as { cause?: { code?: unknown } } | undefined)?.cause;
  const message =
    cause === undefined
      ? describeError(error)
      : `${describeError(error)}: ${[cause.code, describeError(cause)].filter(Boolean).join(" ")}`;
  const unreachable = /ECONNREFUSED|ECONNRESET|socket hang up|timeout|EPIPE/i.test(message);
  return new StreamscoreError(
    unreachable ? "CLICKHOUSE_UNAVAILABLE" : "CLICKHOUSE_QUERY_FAILED",
    `${what}: ${message}`,
    {
      cause: error,
    },
  );
}

const requestTimeoutMs = 60_000;

export function createClickHouse(config: ClickHouseConfig, database?: string): ClickHouse {
  const client: ClickHouseClient = createClient({
    url: config.CLICKHOUSE_URL,
    username: config.CLICKHOUSE_USER,
    password: config.CLICKHOUSE_PASSWORD,
    database,
    request_timeout: requestTimeoutMs,
    compression: { request: false, response: false },
  });
  const authorization = `Basic ${Buffer.from(`${config.CLICKHOUSE_USER}:${config.CLICKHOUSE_PASSWORD ?? ""}`).toString("base64")}`;

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
    async insertRowBinary(table, encoded, options = {}) {
      if (encoded.rows === 0) return;
      const url = new URL(config.CLICKHOUSE_URL);
      url.searchParams.set("query", `INSERT INTO ${table} (${encoded.columns.join(", ")}) FORMAT RowBinary`);
      if (database) url.searchParams.set("database", database);
      if (options.queryId) url.searchParams.set("query_id", options.queryId);
      let response: Response;
      try {
        response = await fetch(url, {
          method: "POST",
          headers: { authorization, "content-type": "application/octet-stream" },
          body: encoded.bytes,
          signal: AbortSignal.timeout(requestTimeoutMs),
        });
      } catch (error) {
        // No answer at all (refused, reset, a kept-alive socket the server had closed, timeout): the
        // rows may or may not have been stored, so the caller checks before sending them again.
        const reason = failure(`ClickHouse insert into ${table} failed`, error);
        throw new StreamscoreError("CLICKHOUSE_UNAVAILABLE", reason.message, { cause: error });
      }
      const text = await response.text().catch((error: unknown) => describeError(error));
      if (!response.ok) {
        const code = response.headers.get("x-clickhouse-exception-code") ?? /^Code: (\d+)/.exec(text)?.[1];
        throw new StreamscoreError(
          "CLICKHOUSE_QUERY_FAILED",
          `ClickHouse insert into ${table} failed: HTTP ${response.status}: ${text.slice(0, 500)}`,
          // 503: the server is shutting down or overloaded; 216: an earlier attempt with the same query
          // id is still running. Either way the batch can be sent again later.
          { retriable: response.status === 503 || code === sameQueryIdRunning },
        );
      }
    },
    async ping() {
      const result = await client.ping();
      return result.success;
    },
    close: () => client.close(),
  };
}
