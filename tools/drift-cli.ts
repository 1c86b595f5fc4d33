// Compares a current sample with a reference from the command line:
//   node tools/drift-cli.ts --reference ref.json --current cur.csv
//        [--type numerical|categorical|auto] [--mode parity|streaming] [--column NAME] [--bins N] [--json]
// Inputs are JSON arrays (of values, or of objects with --column) or CSV files with a header row
// (--column, default the first column). Without --type, a column of strings is categorical;
// --type auto types the column the way Evidently's current API does (column-type.ts).
import { readFileSync } from "node:fs";
import { extname } from "node:path";
import { parseArgs } from "node:util";
import {
  buildReferenceProfile,
  createWindow,
  DEFAULT_BINS,
  type Dtype,
  type FeatureType,
  type InferredColumnType,
  inferColumnType,
  inferDtype,
  parity,
  type RawCategory,
  streamingDefaultTest,
  streamingStatistics,
  streamingVerdicts,
} from "../services/monitor/drift/index.ts";

const USAGE =
  "usage: drift-cli --reference FILE --current FILE [--type numerical|categorical|auto] " +
  "[--mode parity|streaming] [--column NAME] [--bins N] [--json]";

class UsageError extends Error {}

// RFC 4180 fields: quoted fields may hold commas, doubled quotes and newlines.
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = "";
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i] as string;
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else field += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ",") {
      row.push(field);
      field = "";
    } else if (ch === "\n" || ch === "\r") {
      if (ch === "\r" && text[i + 1] === "\n") i++;
      row.push(field);
      rows.push(row);
      row = [];
      field = "";
    } else field += ch;
  }
  if (field !== "" || row.length > 0) {
    row.push(field);
    rows.push(row);
  }
  return rows.filter((r) => !(r.length === 1 && r[0] === ""));
}

const NON_FINITE_TOKENS: Record<string, number> = {
  NaN: Number.NaN,
  nan: Number.NaN,
  Infinity: Number.POSITIVE_INFINITY,
  inf: Number.POSITIVE_INFINITY,
  "-Infinity": Number.NEGATIVE_INFINITY,
  "-inf": Number.NEGATIVE_INFINITY,
};

/** A JSON number written with a fraction or an exponent, which Python reads as a float. */
class FloatLiteral {
  readonly value: number;
  constructor(value: number) {
    this.value = value;
  }
}

interface Column {
  values: RawCategory[];
  /** Some number in the column was written as a float ("1.0", "2e3"): pandas makes it float64. */
  floatLiterals: boolean;
}

function readColumn(path: string, column: string | undefined): Column {
  const text = readFileSync(path, "utf8");
  if (extname(path).toLowerCase() === ".csv") {
    const [header, ...rows] = parseCsv(text);
    if (!header) throw new UsageError(`${path}: empty CSV file`);
    const index = column === undefined ? 0 : header.indexOf(column);
    if (index < 0) throw new UsageError(`${path}: no column "${column}" (columns: ${header.join(", ")})`);
    const values = rows.map((row) => {
      const cell = row[index];
      return cell === undefined || cell === "" ? null : cell;
    });
    // pandas' read_csv makes a column int64 only when every cell is an integer literal.
    const floatLiterals = values.some((cell) => typeof cell === "string" && !/^\s*[+-]?\d+\s*$/.test(cell));
    return { values, floatLiterals };
  }
  // Node's JSON.parse hands the reviver each number's source text: 1.0 and 1 parse to the same
  // number, but Python (so Evidently) reads the first as a float.
  const data: unknown = JSON.parse(text, (_key: string, value: unknown, context?: { source?: string }) =>
    typeof value === "number" && /[.eE]/.test(context?.source ?? "") ? new FloatLiteral(value) : value,
  );
  if (!Array.isArray(data)) throw new UsageError(`${path}: expected a JSON array`);
  let floatLiterals = false;
  const values = data.map((item: unknown) => {
    let value =
      item !== null && typeof item === "object" && !Array.isArray(item) && !(item instanceof FloatLiteral)
        ? (item as Record<string, unknown>)[column ?? Object.keys(item)[0] ?? ""]
        : item;
    if (value instanceof FloatLiteral) {
      floatLiterals = true;
      value = value.value;
    }
    if (value === null || value === undefined) return null;
    if (typeof value === "string" || typeof value === "number" || typeof value === "boolean") return value;
    throw new UsageError(`${path}: unsupported value ${JSON.stringify(value)}`);
  });
  return { values, floatLiterals };
}

function asNumber(value: RawCategory): number | null | undefined {
  if (value === null || value === undefined || typeof value === "number") return value;
  if (typeof value === "string") {
    if (value in NON_FINITE_TOKENS) return NON_FINITE_TOKENS[value];
    const parsed = Number(value);
    if (value.trim() !== "" && !Number.isNaN(parsed)) return parsed;
  }
  return Number.NaN;
}

function looksNumeric(value: RawCategory): boolean {
  if (value === null || value === undefined || typeof value === "number") return true;
  if (typeof value !== "string") return false;
  return value in NON_FINITE_TOKENS || (value.trim() !== "" && !Number.isNaN(Number(value)));
}

/** The pandas dtype of a column as read from its file (float literals make it float64). */
function dtypeOf(values: readonly RawCategory[], column: Column): Dtype {
  return inferDtype(values, { floatLiterals: column.floatLiterals });
}

/**
 * A CSV column is numerical when every cell reads as a number; a JSON column when it holds no
 * strings other than the non-finite tokens ("NaN", "Infinity", …) that JSON numbers cannot carry.
 */
function inferType(values: readonly RawCategory[], fromCsv: boolean): FeatureType {
  if (values.some((value) => typeof value === "boolean")) return "categorical";
  if (fromCsv) return values.every(looksNumeric) ? "numerical" : "categorical";
  return values.some((value) => typeof value === "string" && !(value in NON_FINITE_TOKENS))
    ? "categorical"
    : "numerical";
}

function run(argv: string[]): { json: boolean; report: Record<string, unknown> } {
  const { values: options } = parseArgs({
    args: argv,
    options: {
      reference: { type: "string" },
      current: { type: "string" },
      type: { type: "string" },
      mode: { type: "string", default: "streaming" },
      column: { type: "string" },
      bins: { type: "string", default: String(DEFAULT_BINS) },
      json: { type: "boolean", default: false },
      help: { type: "boolean", default: false },
    },
    strict: true,
  });
  if (options.help) throw new UsageError("");
  if (!options.reference || !options.current) throw new UsageError("--reference and --current are required");
  if (options.mode !== "parity" && options.mode !== "streaming")
    throw new UsageError("--mode must be parity or streaming");
  if (options.type !== undefined && !["numerical", "categorical", "auto"].includes(options.type)) {
    throw new UsageError("--type must be numerical, categorical or auto");
  }
  const bins = Number(options.bins);
  if (!Number.isInteger(bins) || bins < 1) throw new UsageError("--bins must be a positive integer");
  const referenceColumn = readColumn(options.reference, options.column);
  const currentColumn = readColumn(options.current, options.column);
  const reference = referenceColumn.values;
  const current = currentColumn.values;
  const fromCsv = [options.reference, options.current].some((path) => extname(path).toLowerCase() === ".csv");
  let type: FeatureType;
  let inferred: InferredColumnType | undefined;
  let ref: RawCategory[];
  let cur: RawCategory[];
  if (options.type === "auto") {
    // As pandas reads the files: numbers (CSV cells that parse as numbers) stay numbers, so an
    // integer column can be categorical and a categorical one keeps numeric keys.
    const typed = (values: RawCategory[]) =>
      fromCsv ? values.map((v) => (looksNumeric(v) && v !== null ? asNumber(v) : v)) : values;
    ref = typed(reference);
    cur = typed(current);
    inferred = inferColumnType(cur, dtypeOf(cur, currentColumn));
    if (inferred.type !== "numerical" && inferred.type !== "categorical") {
      throw new UsageError(
        `Evidently would type this column as ${inferred.type} (${inferred.reason}) and run no drift test on it; ` +
          "give --type numerical or categorical",
      );
    }
    type = inferred.type;
    if (type === "numerical") {
      ref = ref.map(asNumber);
      cur = cur.map(asNumber);
    }
  } else {
    type = (options.type as FeatureType | undefined) ?? inferType([...reference, ...current], fromCsv);
    const prepare = (values: RawCategory[]) =>
      type === "numerical" ? values.map(asNumber) : values.map((v) => (typeof v === "number" ? String(v) : v));
    ref = prepare(reference);
    cur = prepare(current);
  }
  const header = {
    mode: options.mode,
    type,
    ...(inferred ? { inferredType: inferred } : {}),
    ...(options.column ? { column: options.column } : {}),
  };

  if (options.mode === "parity") {
    const dtypes = { referenceDtype: dtypeOf(ref, referenceColumn), currentDtype: dtypeOf(cur, currentColumn) };
    const result = parity(type, ref, cur, dtypes);
    return { json: options.json, report: { ...header, defaultTest: result.defaultTest, statistics: result } };
  }
  const profile =
    type === "numerical"
      ? buildReferenceProfile(ref as Array<number | null | undefined>, { bins })
      : buildReferenceProfile(ref, { type: "categorical" });
  const window = createWindow(profile);
  for (const value of cur) (window.add as (v: RawCategory) => void)(value);
  const statistics = streamingStatistics(profile, window);
  return {
    json: options.json,
    report: {
      ...header,
      bins: profile.kind === "numerical" ? profile.edges.length - 1 : profile.categories.length,
      defaultTest: streamingDefaultTest(profile, statistics),
      verdicts: streamingVerdicts(statistics),
      statistics,
    },
  };
}

function format(value: unknown): string {
  if (typeof value === "number") return Number.isInteger(value) ? String(value) : String(Number(value.toPrecision(6)));
  return String(value);
}

// Flattens nested statistics to "a.b.c  value" rows; long arrays (bins, edges) are summarized.
function rows(value: unknown, prefix: string, out: Array<[string, string]>): void {
  if (Array.isArray(value) || ArrayBuffer.isView(value)) {
    const items = Array.from(value as ArrayLike<unknown>);
    out.push([prefix, items.length > 8 ? `[${items.length} values]` : `[${items.map(format).join(", ")}]`]);
  } else if (value !== null && typeof value === "object") {
    for (const [key, inner] of Object.entries(value)) rows(inner, prefix ? `${prefix}.${key}` : key, out);
  } else out.push([prefix, format(value)]);
}

function table(report: Record<string, unknown>): string {
  const out: Array<[string, string]> = [];
  rows(report, "", out);
  const width = Math.max(...out.map(([key]) => key.length));
  return out.map(([key, value]) => `${key.padEnd(width)}  ${value}`).join("\n");
}

// JSON has no NaN or Infinity: they are written as the strings the drift vectors use.
function replacer(_key: string, value: unknown): unknown {
  if (typeof value === "number" && !Number.isFinite(value)) return String(value);
  if (ArrayBuffer.isView(value)) return Array.from(value as unknown as ArrayLike<number>);
  return value;
}

try {
  const { json, report } = run(process.argv.slice(2));
  console.log(json ? JSON.stringify(report, replacer, 2) : table(report));
} catch (error) {
  if (error instanceof UsageError) {
    if (error.message) console.error(error.message);
    console.error(USAGE);
    process.exitCode = 2;
  } else {
    console.error(error instanceof Error ? error.message : String(error));
    process.exitCode = 1;
  }
}
