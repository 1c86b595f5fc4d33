// Avro records in the Confluent wire format. Schemas are looked up by id once and cached, so the
// per-record work is a synchronous avsc encode or decode.
import avro from "avsc";
import { describeError, StreamscoreError } from "../errors.ts";
import { decodeWireFormat, wireHeaderLength, writeWireHeader } from "./wire-format.ts";

export type AvroType = avro.Type;
/** Looks a writer schema up by its registry id. */
export type SchemaResolver = (schemaId: number) => Promise<AvroType>;

export function parseAvroSchema(schema: string | object): AvroType {
  return avro.Type.forSchema(typeof schema === "string" ? JSON.parse(schema) : (schema as avro.Schema));
}

/** Shared by every encode in the process; encoding is synchronous, so no two uses overlap. */
let scratch = Buffer.allocUnsafe(16 * 1024);

/**
 * Avro binary of `value` after `headerLength` bytes that `writeHeader` fills, in a buffer of the
 * exact size taken from Node's pool when small. avsc's toBuffer allocates a zero-filled buffer of
 * its own per record (and framing would copy again); this encodes into one scratch buffer and
 * copies once. The value must be valid for the type (check with isValid first).
 */
export function encodeAvro(
  type: AvroType,
  value: unknown,
  headerLength = 0,
  writeHeader?: (target: Buffer) => void,
): Buffer {
  let end = type.encode(value, scratch, headerLength);
  while (end < 0) {
    // avsc returns minus the bytes missing; grow and write again.
    scratch = Buffer.allocUnsafe(Math.max(2 * scratch.length, scratch.length - end));
    end = type.encode(value, scratch, headerLength);
  }
  writeHeader?.(scratch);
  const out = Buffer.allocUnsafe(end);
  scratch.copy(out, 0, 0, end);
  return out;
}

export interface AvroCodec {
  /** Makes sure every schema id in the batch is cached, so `decode` can run synchronously. */
  prepare(values: ReadonlyArray<Buffer | null | undefined>): Promise<void>;
  /** Decodes a record whose schema is cached (after `prepare`); throws a coded error otherwise. */
  decode(value: Buffer | null | undefined): { schemaId: number; record: unknown };
  encode(schemaId: number, type: AvroType, record: unknown): Buffer;
}

/**
 * With a `reader` schema, records are decoded with their writer's schema (by id) and resolved to
 * the reader's, Avro's schema evolution: fields the writer lacks get the reader's defaults, fields
 * the reader lacks are dropped. A writer schema the reader cannot resolve is refused per record
 * (SCHEMA_INCOMPATIBLE). Records written with the reader's own schema are decoded directly.
 */
export function createAvroCodec(
  resolve: SchemaResolver,
  options: {
    reader?: AvroType;
    /**
     * How long an id the registry did not know stays unknown before it is asked again (default 1 s):
     * a schema registered later (the fix before a dead-letter replay) must be found without a
     * restart, and a flood of records with a missing id must not become a lookup per batch.
     */
    unknownRetryMs?: number;
    now?: () => number;
  } = {},
): AvroCodec {
  const types = new Map<number, AvroType>();
  /** Ids the registry did not know, with when it said so. */
  const unknownIds = new Map<number, number>();
  const unknownRetryMs = options.unknownRetryMs ?? 1000;
  const now = options.now ?? Date.now;
  const { reader } = options;
  /** Per writer schema id: its resolver to the reader, undefined when they are the same, or why not. */
  const resolvers = new Map<number, avro.Resolver | undefined | StreamscoreError>();

  function addType(id: number, type: AvroType): void {
    types.set(id, type);
    if (!reader || type.equals(reader)) return;
    try {
      resolvers.set(id, reader.createResolver(type));
    } catch (error) {
      resolvers.set(
        id,
        new StreamscoreError(
          "SCHEMA_INCOMPATIBLE",
          `records of schema ${id} cannot be read with this pipeline's schema: ${describeError(error)}`,
          { cause: error },
        ),
      );
    }
  }

  return {
    async prepare(values) {
      const missing = new Set<number>();
      const at = now();
      for (const value of values) {
        if (!value || value.length < 5 || value[0] !== 0) continue;
        const id = value.readUInt32BE(1);
        if (types.has(id)) continue;
        const missedAt = unknownIds.get(id);
        if (missedAt === undefined || at - missedAt >= unknownRetryMs) missing.add(id);
      }
      for (const id of missing) {
        try {
          addType(id, await resolve(id));
          unknownIds.delete(id);
        } catch (error) {
          if (error instanceof StreamscoreError && error.code === "SCHEMA_NOT_FOUND") unknownIds.set(id, at);
          else throw error;
        }
      }
    },
    decode(value) {
      const { schemaId, body } = decodeWireFormat(value);
      const type = types.get(schemaId);
      if (!type) throw new StreamscoreError("SCHEMA_NOT_FOUND", `schema id ${schemaId} is not in the registry`);
      const resolver = resolvers.get(schemaId);
      if (resolver instanceof StreamscoreError) throw resolver;
      try {
        const { value: record, offset } = resolver && reader ? reader.decode(body, 0, resolver) : type.decode(body, 0);
        if (offset !== body.length) {
          throw new Error(offset < 0 ? "truncated body" : `${body.length - offset} trailing bytes`);
        }
        return { schemaId, record };
      } catch (error) {
        throw new StreamscoreError(
          "AVRO_DECODE_FAILED",
          `Avro decode with schema ${schemaId} failed: ${describeError(error)}`,
          {
            cause: error,
          },
        );
      }
    },
    encode(schemaId, type, record) {
      // The check without a hook allocates nothing; the paths are only collected for the error.
      if (!type.isValid(record)) {
        const paths: string[] = [];
        type.isValid(record, { errorHook: (path) => paths.push(path.join(".") || "(root)") });
        throw new StreamscoreError("AVRO_ENCODE_FAILED", `record does not match the schema at: ${paths.join(", ")}`);
      }
      return encodeAvro(type, record, wireHeaderLength, (target) => writeWireHeader(target, schemaId));
    },
  };
}
