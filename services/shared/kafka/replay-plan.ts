// What a dead-letter replay would send, decided from the dead letters alone: their headers parsed,
// the request's filters applied, and one record per original event kept. Pure; the replay in
// dead-letter-replay.ts reads and writes Kafka around it, and the CLI and the ingest API validate
// their options with the same schema, so both refuse the same input with the same field names.
import { z } from "zod";
import { type ErrorCode, errorCodes } from "../errors.ts";
import type { IHeaders } from "./client.ts";
import { headerText } from "./dead-letter.ts";

/** Where a record is or was: the same three parts as the x-original-* headers. */
export interface Position {
  topic: string;
  partition: number;
  offset: string;
}

export function positionText(position: Position): string {
  return `${position.topic}/${position.partition}/${position.offset}`;
}

/** Parses `topic/partition/offset` (a topic name may itself hold slashes only before the last two parts). */
export function parsePosition(text: string | undefined): Position | undefined {
  if (!text) return undefined;
  const match = /^(.+)\/(\d+)\/(\d+)$/.exec(text);
  if (!match) return undefined;
  return { topic: match[1] as string, partition: Number(match[2]), offset: match[3] as string };
}

/** Headers a replayed record carries: the first original position, and the dead letter it came from. */
export const replayOfHeader = "x-replay-of";
export const replayedFromHeader = "x-replayed-from";
/** Headers only a dead letter has; a replayed record leaves them behind. */
const diagnosticHeaders = new Set(["x-error-code", "x-error-message", "x-error-stage", "x-personal-data"]);

export interface DeadLetterInfo {
  code: string | undefined;
  message: string | undefined;
  stage: string | undefined;
  /** Where the record was read when it failed (x-original-topic, -partition, -offset). */
  original: Position | undefined;
  /**
   * The event's first position: a record that failed again after a replay names the dead letter's
   * original through x-replay-of, so every failure of one event shares this.
   */
  origin: Position | undefined;
  /** The dead letter holds no value (personal data): the original is read from its position. */
  valueRemoved: boolean;
}

export function parseDeadLetter(headers: IHeaders | undefined): DeadLetterInfo {
  const topic = headerText(headers, "x-original-topic");
  const partition = headerText(headers, "x-original-partition");
  const offset = headerText(headers, "x-original-offset");
  const original =
    topic && partition !== undefined && /^\d+$/.test(partition) && offset !== undefined && /^\d+$/.test(offset)
      ? { topic, partition: Number(partition), offset }
      : undefined;
  return {
    code: headerText(headers, "x-error-code"),
    message: headerText(headers, "x-error-message"),
    stage: headerText(headers, "x-error-stage"),
    original,
    origin: parsePosition(headerText(headers, replayOfHeader)) ?? original,
    valueRemoved: headerText(headers, "x-personal-data") !== undefined,
  };
}

/** The headers a replayed record goes out with: the original's own, none of the dead letter's, and where it came from. */
export function replayHeaders(headers: IHeaders | undefined, origin: Position, deadLetter: Position): IHeaders {
  const out: IHeaders = {};
  for (const [name, value] of Object.entries(headers ?? {})) {
    if (value === undefined || diagnosticHeaders.has(name) || name.startsWith("x-original-")) continue;
    if (name === replayOfHeader || name === replayedFromHeader) continue;
    out[name] = value;
  }
  out[replayOfHeader] = positionText(origin);
  out[replayedFromHeader] = positionText(deadLetter);
  return out;
}

const durationUnits: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/**
 * `--since`: an ISO 8601 date or time (`2026-12-07`, `2026-12-07T04:00:00Z`) or a span back from
 * now (`30m`, `2h`, `1d`); the epoch milliseconds it stands for, or undefined when it is neither.
 */
export function parseSince(text: string, now: number): number | undefined {
  const span = /^(\d+)\s*([smhd])$/.exec(text.trim());
  if (span) return now - Number(span[1]) * (durationUnits[span[2] as string] as number);
  if (!/^\d{4}-\d{2}-\d{2}/.test(text.trim())) return undefined;
  const at = Date.parse(text.trim());
  return Number.isNaN(at) ? undefined : at;
}

const knownCodes = Object.keys(errorCodes) as [ErrorCode, ...ErrorCode[]];

/** The options of one replay, as the API's JSON body and (after parsing its flags) the CLI give them. */
export const replayRequestSchema = z
  .object({
    /** Only dead letters with one of these codes (one code or a list). */
    code: z
      .union([z.enum(knownCodes), z.array(z.enum(knownCodes)).min(1)])
      .optional()
      .transform((value) => (value === undefined ? undefined : Array.isArray(value) ? value : [value])),
    /** Only dead letters written at or after this time (ISO 8601, or a span back like 2h). */
    since: z.string().min(1).optional(),
    /** Send nothing: report what would be sent and whether it decodes now. */
    dryRun: z.boolean().default(false),
    /** How long to wait for the transformer to take the replayed records before counting new failures; 0 skips the check. */
    waitSeconds: z.number().int().min(0).max(600).default(30),
  })
  .strict();

export type ReplayRequestInput = z.input<typeof replayRequestSchema>;

export interface ReplayRequest {
  codes: ErrorCode[] | undefined;
  /** Epoch milliseconds. */
  since: number | undefined;
  dryRun: boolean;
  waitSeconds: number;
}

export type ParsedReplayRequest = { ok: true; request: ReplayRequest } | { ok: false; field: string; message: string };

/** Validates a request body; a refusal names the first bad field. */
export function parseReplayRequest(body: unknown, now: number): ParsedReplayRequest {
  const parsed = replayRequestSchema.safeParse(body ?? {});
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const unknownKeys = issue?.code === "unrecognized_keys" ? (issue as { keys?: string[] }).keys : undefined;
    const field = unknownKeys?.[0] ?? (issue?.path.length ? issue.path.join(".") : "(body)");
    const message = unknownKeys
      ? `unknown field ${unknownKeys.join(", ")}; known: ${Object.keys(replayRequestSchema.shape).join(", ")}`
      : field === "code" || field.startsWith("code.")
        ? `must be one of the error codes (${knownCodes.join(", ")}) or a list of them`
        : (issue?.message ?? "invalid");
    return { ok: false, field, message };
  }
  let since: number | undefined;
  if (parsed.data.since !== undefined) {
    since = parseSince(parsed.data.since, now);
    if (since === undefined) {
      return {
        ok: false,
        field: "since",
        message: `"${parsed.data.since}" is neither an ISO 8601 time (2026-12-07T04:00:00Z) nor a span back (30m, 2h, 1d)`,
      };
    }
  }
  return {
    ok: true,
    request: { codes: parsed.data.code, since, dryRun: parsed.data.dryRun, waitSeconds: parsed.data.waitSeconds },
  };
}

/** One record of the dead-letter topic, as read. */
export interface DeadLetterEntry {
  partition: number;
  offset: string;
  /** When it was dead-lettered (the record's timestamp), epoch milliseconds. */
  timestamp: number;
  key: Buffer | null;
  value: Buffer | null;
  headers: IHeaders | undefined;
}

export interface ReplayCandidate {
  entry: DeadLetterEntry;
  info: DeadLetterInfo;
  /** The dead letter's own position in the dead-letter topic. */
  at: Position;
  /** The event's first position (see DeadLetterInfo.origin). */
  origin: Position;
  /** The record to send is read from here (`info.valueRemoved`), not taken from the dead letter. */
  readFrom: Position | undefined;
}

export interface SkippedCounts {
  /** Filtered out by --code. */
  code: number;
  /** Filtered out by --since. */
  since: number;
  /** Failed reading another topic than the replayable one, per that topic. */
  notReplayable: Record<string, number>;
  /** Without the x-original-* headers, so where it came from is unknown. */
  unknownOrigin: number;
  /** An older dead letter of an event that has a newer one (only the newest is replayed). */
  superseded: number;
}

export interface ReplayPlan {
  candidates: ReplayCandidate[];
  skipped: SkippedCounts;
}

export function emptySkipped(): SkippedCounts {
  return { code: 0, since: 0, notReplayable: {}, unknownOrigin: 0, superseded: 0 };
}

/**
 * Picks the dead letters to replay into `replayableTopic`: one per event (its newest dead letter,
 * so the filters judge the latest failure), of a wanted code and time, that failed reading that
 * topic. Dead letters of other topics (features, scored) are not replayable: those records were
 * produced by the pipeline itself and go back through it only from the raw record.
 */
export function planReplay(
  entries: readonly DeadLetterEntry[],
  options: { deadLetterTopic: string; replayableTopic: string; codes?: readonly string[]; since?: number },
): ReplayPlan {
  const skipped = emptySkipped();
  const newest = new Map<string, ReplayCandidate>();
  for (const entry of entries) {
    const info = parseDeadLetter(entry.headers);
    if (!info.original || !info.origin) {
      skipped.unknownOrigin += 1;
      continue;
    }
    if (info.original.topic !== options.replayableTopic) {
      skipped.notReplayable[info.original.topic] = (skipped.notReplayable[info.original.topic] ?? 0) + 1;
      continue;
    }
    const candidate: ReplayCandidate = {
      entry,
      info,
      at: { topic: options.deadLetterTopic, partition: entry.partition, offset: entry.offset },
      origin: info.origin,
      readFrom: info.valueRemoved || entry.value === null ? info.original : undefined,
    };
    const key = positionText(info.origin);
    const earlier = newest.get(key);
    if (earlier) {
      skipped.superseded += 1;
      if (isNewer(earlier.entry, entry)) continue;
    }
    newest.set(key, candidate);
  }
  const candidates: ReplayCandidate[] = [];
  for (const candidate of newest.values()) {
    if (options.codes && !options.codes.includes(candidate.info.code ?? "")) skipped.code += 1;
    else if (options.since !== undefined && candidate.entry.timestamp < options.since) skipped.since += 1;
    else candidates.push(candidate);
  }
  candidates.sort((a, b) => a.entry.timestamp - b.entry.timestamp || Number(a.entry.offset) - Number(b.entry.offset));
  return { candidates, skipped };
}

/** Whether `a` was dead-lettered after `b` (time first; offsets within a partition break ties). */
function isNewer(a: DeadLetterEntry, b: DeadLetterEntry): boolean {
  if (a.timestamp !== b.timestamp) return a.timestamp > b.timestamp;
  return a.partition === b.partition && BigInt(a.offset) > BigInt(b.offset);
}

/** Counts per code, for the report. */
export function countByCode(codes: ReadonlyArray<string | undefined>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const code of codes) out[code ?? "(none)"] = (out[code ?? "(none)"] ?? 0) + 1;
  return out;
}
