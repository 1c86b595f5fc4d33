// How the console shows a dead letter's original bytes: a hex dump, the Confluent wire-format
// header when there is one, and the text as JSON when it parses. Pure.

export interface BytesView {
  size: number;
  /** `offset  hex bytes  ascii` lines, at most `maxBytes` of the value. */
  hex: string[];
  truncated: boolean;
  /** Schema id of a Confluent wire-format value (magic byte 0, then a 4-byte id). */
  schemaId: number | undefined;
  /** The value pretty-printed when it is JSON text. */
  json: string | undefined;
}

const bytesPerLine = 16;

export function viewBytes(value: Buffer, maxBytes = 1024): BytesView {
  const shown = value.subarray(0, maxBytes);
  const hex: string[] = [];
  for (let offset = 0; offset < shown.length; offset += bytesPerLine) {
    const line = shown.subarray(offset, offset + bytesPerLine);
    const bytes = [...line].map((b) => b.toString(16).padStart(2, "0")).join(" ");
    const ascii = [...line].map((b) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : ".")).join("");
    hex.push(`${offset.toString(16).padStart(8, "0")}  ${bytes.padEnd(bytesPerLine * 3 - 1)}  ${ascii}`);
  }
  return {
    size: value.length,
    hex,
    truncated: value.length > maxBytes,
    schemaId: value.length >= 5 && value[0] === 0 ? value.readUInt32BE(1) : undefined,
    json: asJson(value),
  };
}

function asJson(value: Buffer): string | undefined {
  const text = value.toString("utf8");
  if (!/^\s*[[{"]/.test(text)) return undefined;
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    return undefined;
  }
}
