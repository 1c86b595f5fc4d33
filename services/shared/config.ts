// Typed, validated configuration from environment variables. Each setting carries its default and
// a one-line doc, so start-up errors name every bad variable and the README table is generated
// from the same source. This is the only module that reads process.env.
import { readFileSync } from "node:fs";
import { z } from "zod";
import { StreamscoreError } from "./errors.ts";

export interface Setting<T> {
  readonly schema: z.ZodType<T>;
  /** The value used when the variable is unset, written as it would be in the environment. */
  readonly default: string | undefined;
  readonly doc: string;
  /** Secrets are never printed, not even their defaults. */
  readonly secret: boolean;
}

export function setting<T>(
  schema: z.ZodType<T>,
  options: { default?: string; doc: string; secret?: boolean },
): Setting<T> {
  return { schema, default: options.default, doc: options.doc, secret: options.secret ?? false };
}

// biome-ignore lint/suspicious/noExplicitAny: a settings map mixes value types by design
export type Settings = Record<string, Setting<any>>;
export type ConfigOf<S extends Settings> = { readonly [K in keyof S]: S[K] extends Setting<infer T> ? T : never };
export type Environment = Readonly<Record<string, string | undefined>>;

export function processEnvironment(): Environment {
  return process.env;
}

/** Parses every setting, collecting all problems before failing. */
export function loadConfig<S extends Settings>(settings: S, env: Environment = processEnvironment()): ConfigOf<S> {
  const values: Record<string, unknown> = {};
  const problems: string[] = [];
  for (const [name, spec] of Object.entries(settings)) {
    const raw = env[name] === undefined || env[name] === "" ? spec.default : env[name];
    const parsed = spec.schema.safeParse(raw);
    if (parsed.success) {
      values[name] = parsed.data;
    } else {
      const shown = spec.secret || raw === undefined ? "" : ` (got "${raw}")`;
      problems.push(`${name}: ${parsed.error.issues.map((issue) => issue.message).join("; ")}${shown}`);
    }
  }
  if (problems.length > 0) {
    throw new StreamscoreError("CONFIG_INVALID", `invalid configuration:\n  ${problems.join("\n  ")}`);
  }
  return values as ConfigOf<S>;
}

/**
 * A secret handed over as a file (a mounted secret, or one the local stack generated): its text
 * without the trailing newline. The error names the setting and the path, never the content.
 */
export function secretFromFile(name: string, path: string): string {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code ?? "unreadable";
    throw new StreamscoreError("CONFIG_INVALID", `invalid configuration:\n  ${name}: cannot read ${path} (${reason})`);
  }
  const secret = text.replace(/\r?\n$/, "");
  if (secret.length === 0) {
    throw new StreamscoreError("CONFIG_INVALID", `invalid configuration:\n  ${name}: ${path} is empty`);
  }
  return secret;
}

/** Rows for the README's configuration table. */
export function describeSettings(settings: Settings): Array<{ name: string; default: string; doc: string }> {
  return Object.entries(settings).map(([name, spec]) => ({
    name,
    default: spec.default === undefined ? "(unset)" : spec.default === "" ? '""' : spec.default,
    doc: spec.doc,
  }));
}

// Parsers shared by all settings maps. Environment values are strings, so each one coerces.
export const parse = {
  string: () => z.string({ error: "is required" }),
  optionalString: () => z.string().optional(),
  port: () => z.coerce.number().int().min(1).max(65535),
  positiveInt: () => z.coerce.number().int().positive(),
  nonNegativeInt: () => z.coerce.number().int().min(0),
  url: () => z.url({ error: "must be a URL such as http://127.0.0.1:8123" }),
  boolean: () =>
    z.enum(["true", "false", "1", "0"], { error: "must be true or false" }).transform((v) => v === "true" || v === "1"),
  list: () =>
    z
      .string({ error: "is required" })
      .transform((v) =>
        v
          .split(",")
          .map((item) => item.trim())
          .filter((item) => item.length > 0),
      )
      .refine((items) => items.length > 0, "must list at least one item"),
  share: () => z.coerce.number({ error: "must be a number from 0 to 1" }).min(0).max(1),
  oneOf: <T extends string>(values: readonly [T, ...T[]]) =>
    z.enum(values, { error: `must be one of ${values.join(", ")}` }),
};
