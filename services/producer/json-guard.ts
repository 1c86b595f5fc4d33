// What JSON.parse lets through silently: a field given twice in one object (the last value wins,
// so a client's typo or a smuggled second value goes unnoticed) and nesting without bound. One
// linear pass over text that JSON.parse has already accepted, so it needs no grammar checks.

export interface JsonProblem {
  code: "DUPLICATE_FIELD" | "NESTING_TOO_DEEP";
  /** Where, as a JSONPath: `$[2].amount`. */
  path: string;
  message: string;
}

interface Frame {
  object: boolean;
  keys: Set<string> | undefined;
  key: string;
  index: number;
  expectKey: boolean;
}

const quote = 0x22;
const backslash = 0x5c;

function pathOf(frames: readonly Frame[], count: number): string {
  let path = "$";
  for (let i = 0; i < count; i += 1) {
    const frame = frames[i] as Frame;
    path += frame.object ? `.${frame.key}` : `[${frame.index}]`;
  }
  return path;
}

/** The end quote of the string that opens at `start`. */
function stringEnd(text: string, start: number): number {
  let end = text.indexOf('"', start + 1);
  for (;;) {
    let slashes = 0;
    while (text.charCodeAt(end - 1 - slashes) === backslash) slashes += 1;
    if (slashes % 2 === 0) return end;
    end = text.indexOf('"', end + 1);
  }
}

/**
 * The first duplicate field or too-deep nesting in `text`, which must be valid JSON (check it
 * with JSON.parse first). Keys are compared after unescaping, so `"a"` and `"\u0061"` collide.
 */
export function findJsonProblem(text: string, maxDepth: number): JsonProblem | undefined {
  const frames: Frame[] = [];
  for (let i = 0; i < text.length; i += 1) {
    const c = text.charCodeAt(i);
    if (c === quote) {
      const end = stringEnd(text, i);
      const top = frames[frames.length - 1];
      if (top?.object && top.expectKey) {
        const raw = text.slice(i + 1, end);
        const key = raw.includes("\\") ? (JSON.parse(text.slice(i, end + 1)) as string) : raw;
        const keys = top.keys as Set<string>;
        if (keys.has(key)) {
          top.key = key;
          const path = pathOf(frames, frames.length);
          return { code: "DUPLICATE_FIELD", path, message: `field ${path} appears more than once in one object` };
        }
        keys.add(key);
        top.key = key;
        top.expectKey = false;
      }
      i = end;
    } else if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
      if (frames.length >= maxDepth) {
        const path = pathOf(frames, frames.length);
        return { code: "NESTING_TOO_DEEP", path, message: `nesting deeper than ${maxDepth} levels at ${path}` };
      }
      const object = c === 0x7b;
      frames.push({ object, keys: object ? new Set() : undefined, key: "", index: 0, expectKey: object });
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      frames.pop();
    } else if (c === 0x2c /* , */) {
      const top = frames[frames.length - 1] as Frame;
      if (top.object) top.expectKey = true;
      else top.index += 1;
    }
  }
  return undefined;
}
