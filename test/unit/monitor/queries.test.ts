import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { listQueries, readQueryText, renderQuery, renderQueryText } from "../../../services/monitor/queries.ts";

const values = { database: "analytics_db", pipeline: "payments" };

describe("listQueries", () => {
  it("lists the shipped query files by name, sorted", () => {
    const names = listQueries();
    expect(names).toEqual([...names].sort());
    expect(names).toEqual(
      expect.arrayContaining([
        "drift-over-time",
        "top-drifted-features-last-hour",
        "score-distribution-by-model-version",
        "precision-recall-by-hour",
        "slowest-events",
        "dlq-reasons",
        "label-delay",
        "model-quality-over-time",
      ]),
    );
  });
});

describe("renderQuery", () => {
  it("replaces every DATABASE and PIPELINE placeholder", () => {
    const sql = renderQueryText(
      "t",
      // biome-ignore lint/suspicious/noTemplateCurlyInString: placeholders are literal SQL text
      "SELECT 1 FROM ${DATABASE}.predictions JOIN ${DATABASE}.labels WHERE pipeline = '${PIPELINE}' AND p = '${PIPELINE}'",
      { database: "db_1", pipeline: "payments-shadow-2" },
    );
    expect(sql).toBe(
      "SELECT 1 FROM db_1.predictions JOIN db_1.labels WHERE pipeline = 'payments-shadow-2' AND p = 'payments-shadow-2'",
    );
  });

  it("rejects a placeholder it does not know, naming it", () => {
    // biome-ignore lint/suspicious/noTemplateCurlyInString: placeholders are literal SQL text
    const text = "SELECT * FROM ${DATABASE}.t WHERE model = '${MODEL}' AND x = ${LIMIT} AND y = ${MODEL}";
    expect(() => renderQueryText("t", text, values)).toThrow(/unknown placeholder\(s\) \$\{MODEL\}, \$\{LIMIT\}/);
  });

  it("refuses values that would break out of the SQL text", () => {
    // biome-ignore lint/suspicious/noTemplateCurlyInString: placeholders are literal SQL text
    const text = "SELECT * FROM ${DATABASE}.t WHERE pipeline = '${PIPELINE}'";
    expect(() => renderQueryText("t", text, { database: "db", pipeline: "x' OR 1=1 --" })).toThrow(/PIPELINE/);
    expect(() => renderQueryText("t", text, { database: "db; DROP TABLE t", pipeline: "payments" })).toThrow(
      /DATABASE/,
    );
  });

  it("renders every shipped query with no placeholder left", () => {
    for (const name of listQueries()) {
      const sql = renderQuery(name, values);
      expect(sql, name).not.toMatch(/\$\{/);
      expect(sql, name).toContain("analytics_db.");
    }
  });

  it("rejects an unknown query name", () => {
    expect(() => renderQuery("no-such-query", values)).toThrow(/unknown query no-such-query/);
  });

  it("reads from another directory when given one", () => {
    const dir = mkdtempSync(join(tmpdir(), "queries-"));
    // biome-ignore lint/suspicious/noTemplateCurlyInString: placeholders are literal SQL text
    writeFileSync(join(dir, "one.sql"), "-- one\nSELECT count() FROM ${DATABASE}.predictions\n");
    expect(listQueries(dir)).toEqual(["one"]);
    expect(renderQuery("one", values, dir)).toBe("-- one\nSELECT count() FROM analytics_db.predictions\n");
  });
});

describe("the query files", () => {
  it.each(listQueries())("%s starts with a comment block saying what it answers and how to read it", (name) => {
    const text = readQueryText(name);
    const lines = text.split("\n");
    const firstCode = lines.findIndex((line) => !line.startsWith("--"));
    const header = lines.slice(0, firstCode);
    expect(header.length, "comment lines before the SQL").toBeGreaterThanOrEqual(3);
    expect(header.join("\n")).toMatch(/Reading it:/);
    expect(lines[firstCode]).toMatch(/^SELECT\b/);
  });

  it.each(listQueries())("%s is one statement for one database", (name) => {
    const text = readQueryText(name);
    // biome-ignore lint/suspicious/noTemplateCurlyInString: placeholders are literal SQL text
    expect(text).toContain("${DATABASE}.");
    // One statement per file: clickhouse-client and the HTTP interface both take it as is.
    expect(text.replace(/--.*$/gm, "").trim()).not.toMatch(/;/);
  });

  it.each(listQueries())("%s uses nothing ClickHouse 18.16 lacks", (name) => {
    const sql = readQueryText(name).replace(/--.*$/gm, "");
    for (const banned of [
      /DateTime64/i,
      /\bMap\(/,
      /\bOVER\s*\(/i,
      /\bWITH\s+\w+\s+AS\s*\(/i,
      /\bILIKE\b/i,
      /\{\w+:\w+\}/,
      /toStartOfInterval/i,
      /JSONExtract/i,
    ]) {
      expect(sql, `${name}: ${banned}`).not.toMatch(banned);
    }
    // One JOIN per SELECT: these queries have at most one SELECT that joins.
    expect((sql.match(/\bJOIN\b/gi) ?? []).length, name).toBeLessThanOrEqual(1);
  });
});
