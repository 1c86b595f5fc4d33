// Turns a request body into the list of events it carries: one JSON object, a JSON array of
// them, or NDJSON (one object per line). Errors say where the body is broken.
export type ParsedBody = { ok: true; events: unknown[] } | { ok: false; message: string };

export function parseJsonBody(text: string): ParsedBody {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return { ok: false, message: `malformed JSON: ${(error as Error).message}` };
  }
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
      return { ok: false, message: `malformed JSON on line ${i + 1}: ${(error as Error).message}` };
    }
  }
  return { ok: true, events };
}
