// Validates one JSON event against a pipeline's Avro record schema and converts it to the value
// avsc encodes, with an error per bad field that names it. Timestamps may be epoch milliseconds
// or ISO-8601 strings; optional fields may be left out; unknown fields are refused.
import avro from "avsc";
import type { AvroType } from "../shared/kafka/avro-codec.ts";

export interface FieldError {
  field: string;
  message: string;
}

export type ValidationResult = { ok: true; record: Record<string, unknown> } | { ok: false; errors: FieldError[] };

function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "string") return `"${value.length > 40 ? `${value.slice(0, 40)}…` : value}"`;
  if (typeof value === "object") return "an object";
  return String(value);
}

function expected(type: AvroType): string {
  const members = (type as { types?: AvroType[] }).types;
  if (Array.isArray(members)) return members.map(expected).join(" or ");
  const logical = (type as { logicalType?: string }).logicalType;
  if (logical === "timestamp-millis" || (type.typeName === "long" && logical)) return "a timestamp";
  switch (type.typeName) {
    case "double":
    case "float":
      return "a number";
    case "int":
    case "long":
      return "an integer";
    case "boolean":
      return "true or false";
    case "string":
      return "a string";
    case "null":
      return "null";
    default:
      return type.typeName;
  }
}

function isTimestamp(type: AvroType, schemaField: { type: unknown }): boolean {
  const raw = schemaField.type as { logicalType?: string } | string;
  return type.typeName === "long" && typeof raw === "object" && raw.logicalType === "timestamp-millis";
}

export function createEventValidator(
  type: AvroType,
  schema: { fields: Array<{ name: string; type: unknown; default?: unknown }> },
) {
  if (!(type instanceof avro.types.RecordType)) throw new Error("an event schema must be an Avro record");
  const fields = type.fields;
  const known = new Set(fields.map((f) => f.name));

  return function validate(input: unknown): ValidationResult {
    if (input === null || typeof input !== "object" || Array.isArray(input)) {
      return { ok: false, errors: [{ field: "(event)", message: `must be a JSON object, got ${describe(input)}` }] };
    }
    const event = input as Record<string, unknown>;
    const errors: FieldError[] = [];
    const record: Record<string, unknown> = {};
    for (const name of Object.keys(event)) {
      if (!known.has(name)) errors.push({ field: name, message: "is not a field of this pipeline's schema" });
    }
    fields.forEach((field, i) => {
      const schemaField = schema.fields[i] ?? { type: null };
      let value = event[field.name];
      if (value === undefined) {
        const fallback = field.defaultValue();
        if (fallback === undefined) {
          errors.push({ field: field.name, message: "is required" });
          return;
        }
        value = fallback;
      }
      if (typeof value === "number" && !Number.isFinite(value)) {
        errors.push({ field: field.name, message: `must be a finite number, got ${value}` });
        return;
      }
      if (typeof value === "string" && isTimestamp(field.type, schemaField)) {
        const parsed = Date.parse(value);
        if (Number.isNaN(parsed)) {
          errors.push({
            field: field.name,
            message: `must be epoch milliseconds or an ISO-8601 time, got ${describe(value)}`,
          });
          return;
        }
        value = parsed;
      }
      if (!field.type.isValid(value)) {
        errors.push({ field: field.name, message: `must be ${expected(field.type)}, got ${describe(value)}` });
        return;
      }
      record[field.name] = value;
    });
    return errors.length > 0 ? { ok: false, errors } : { ok: true, record };
  };
}

export type EventValidator = ReturnType<typeof createEventValidator>;
