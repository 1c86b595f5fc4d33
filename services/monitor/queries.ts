// The ready-made analysis queries in infra/clickhouse/queries, one per file, rendered for a
// database and a pipeline. Pure apart from reading the files: the queries are for people (the
// README shows how to run them) and for the integration test that runs every one of them.
// The placeholders are plain text rather than query parameters because ClickHouse 18.16 has no
// `{name:Type}` parameters.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { StreamscoreError } from "../shared/errors.ts";
import { projectRoot } from "../shared/project.ts";

export const queriesDir = join(projectRoot, "infra", "clickhouse", "queries");

/** What the placeholders stand for. The query files document `payments` as the usual pipeline. */
export interface QueryValues {
  database: string;
  pipeline: string;
}

// Values are pasted into SQL text: the database as a bare identifier, the pipeline inside '...'.
// Anything beyond these characters (a quote, a space, a semicolon) would break the SQL or inject
// into it, so it is refused rather than escaped. Pipeline names follow the pipeline definition's rule.
const valuePatterns: Record<string, RegExp> = {
  DATABASE: /^[A-Za-z_][A-Za-z0-9_]*$/,
  PIPELINE: /^[a-z][a-z0-9-]*$/,
};
const placeholder = /\$\{([^}]*)\}/g;

/** The query names (file names without `.sql`), sorted. */
export function listQueries(dir = queriesDir): string[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith(".sql"))
    .map((f) => f.slice(0, -".sql".length))
    .sort();
}

export function readQueryText(name: string, dir = queriesDir): string {
  if (!listQueries(dir).includes(name)) {
    throw new StreamscoreError("REQUEST_INVALID", `unknown query ${name}; known: ${listQueries(dir).join(", ")}`);
  }
  return readFileSync(join(dir, `${name}.sql`), "utf8");
}

/** Substitutes ${DATABASE} and ${PIPELINE}; any other `${...}` left in the text is an error. */
export function renderQueryText(name: string, text: string, values: QueryValues): string {
  const substitutions: Record<string, string> = { DATABASE: values.database, PIPELINE: values.pipeline };
  for (const [key, value] of Object.entries(substitutions)) {
    if (!valuePatterns[key]?.test(value)) {
      throw new StreamscoreError(
        "REQUEST_INVALID",
        `query ${name}: ${key} value ${JSON.stringify(value)} is not a name`,
      );
    }
  }
  const unknown = new Set<string>();
  const rendered = text.replace(placeholder, (match, key: string) => {
    const value = substitutions[key];
    if (value === undefined) unknown.add(match);
    return value ?? match;
  });
  if (unknown.size > 0) {
    throw new StreamscoreError(
      "REQUEST_INVALID",
      `query ${name} has unknown placeholder(s) ${[...unknown].join(", ")}; known: \${DATABASE}, \${PIPELINE}`,
    );
  }
  return rendered;
}

/** The query `name` from the queries directory, ready to send. */
export function renderQuery(name: string, values: QueryValues, dir = queriesDir): string {
  return renderQueryText(name, readQueryText(name, dir), values);
}
