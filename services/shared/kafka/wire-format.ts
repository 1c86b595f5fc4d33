// The Confluent wire format: magic byte 0, the schema id as a 4-byte big-endian integer, then the
// Avro binary body. Pure; used on every record, so it copies nothing it does not have to.
import { StreamscoreError } from "../errors.ts";

const magicByte = 0;
export const wireHeaderLength = 5;

export interface WireRecord {
  schemaId: number;
  body: Buffer;
}

/** Writes the 5-byte header at the start of `target` (which the caller sized). */
export function writeWireHeader(target: Buffer, schemaId: number): void {
  if (!Number.isInteger(schemaId) || schemaId < 0 || schemaId > 0xffffffff) {
    throw new StreamscoreError("WIRE_FORMAT_INVALID", `schema id ${schemaId} does not fit 4 bytes`);
  }
  target[0] = magicByte;
  target.writeUInt32BE(schemaId, 1);
}

export function encodeWireFormat(schemaId: number, body: Buffer): Buffer {
  const framed = Buffer.allocUnsafe(wireHeaderLength + body.length);
  writeWireHeader(framed, schemaId);
  body.copy(framed, wireHeaderLength);
  return framed;
}

export function decodeWireFormat(value: Buffer | null | undefined): WireRecord {
  if (!value || value.length === 0) {
    throw new StreamscoreError("WIRE_FORMAT_INVALID", "empty record value");
  }
  if (value.length < wireHeaderLength) {
    throw new StreamscoreError(
      "WIRE_FORMAT_INVALID",
      `record of ${value.length} bytes is shorter than the 5-byte header`,
    );
  }
  if (value[0] !== magicByte) {
    throw new StreamscoreError("WIRE_FORMAT_INVALID", `unknown magic byte ${value[0]} (expected 0)`);
  }
  return { schemaId: value.readUInt32BE(1), body: value.subarray(wireHeaderLength) };
}
