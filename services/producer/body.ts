// Turns a request body into the list of events it carries: one JSON object, a JSON array of
// them, or NDJSON (one object per line). Errors say where the body is broken.
import { gunzipSync } from "node:zlib";
import { findJsonProblem } from "./json-guard.ts";

export type ParsedBody = { ok: true; events: unknown[] } | { ok: false; error: string; message: string };

/** Events are flat records; an array of them is two levels deep. Deeper nesting is refused. */
export const maxJsonDepth = 8;

export function parseJsonBody(text: string): ParsedBody {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return { ok: false, error: "MALFORMED_BODY", message: `malformed JSON: ${(error as Error).message}` };
  }
  const problem = findJsonProblem(text, maxJsonDepth);
  if (problem) return { ok: false, error: problem.code, message: problem.message };
  if (Array.isArray(value)) return { ok: true, events: value };
  return { ok: true, events: [value] };
}

export function parseNdjsonBody(text: string): ParsedBody {
  const events: unknown[] = [];
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i += 1) {
    const line = (lines[i] ?? "").trim();
    if (line === "") continue;
    try {
      events.push(JSON.parse(line));
    } catch (error) {
      return {
        ok: false,
        error: "MALFORMED_BODY",
        message: `malformed JSON on line ${i + 1}: ${(error as Error).message}`,
      };
    }
    const problem = findJsonProblem(line, maxJsonDepth);
    if (problem) return { ok: false, error: problem.code, message: `line ${i + 1}: ${problem.message}` };
  }
  return { ok: true, events };
}

export type DecodedBody = { ok: true; text: string } | { ok: false; status: number; message: string };

const utf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * The request body as text: gunzipped when sent with `Content-Encoding: gzip` (stopping at
 * `maxBytes` of output, so a gzip bomb costs no more memory than an honest body), and refused
 * unless it is valid UTF-8.
 */
export function decodeBody(raw: Buffer, contentEncoding: string | undefined, maxBytes: number): DecodedBody {
  let bytes = raw;
  const encoding = (contentEncoding ?? "identity").trim().toLowerCase();
  if (encoding === "gzip") {
    try {
      bytes = gunzipSync(raw, { maxOutputLength: maxBytes });
    } catch (error) {
      if ((error as { code?: string }).code === "ERR_BUFFER_TOO_LARGE" || error instanceof RangeError) {
        return { ok: false, status: 413, message: `the decompressed body is larger than ${maxBytes} bytes` };
      }
      return { ok: false, status: 400, message: "the body is not valid gzip" };
    }
  } else if (encoding !== "identity") {
    return { ok: false, status: 415, message: `Content-Encoding ${encoding} is not supported (use gzip or none)` };
  }
  try {
    return { ok: true, text: utf8.decode(bytes) };
  } catch {
    return { ok: false, status: 400, message: "the body is not valid UTF-8" };
  }
}
