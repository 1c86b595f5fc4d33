// Poison records for a pipeline's raw topic, each with the dead-letter code it must produce.

import type { PaymentEventRecord } from "../../services/producer/generator/payments.ts";
import { parseAvroSchema } from "../../services/shared/kafka/avro-codec.ts";
import type { Message } from "../../services/shared/kafka/client.ts";
import { encodeWireFormat } from "../../services/shared/kafka/wire-format.ts";
import { readSchema } from "../../services/shared/schemas.ts";

export interface Poison {
  what: string;
  message: Message;
  code: string;
}

/** A valid iris event: poison on a payments topic (another pipeline's schema). */
export function irisPoisonBody(eventTime: number): Buffer {
  return parseAvroSchema(readSchema("iris-event.avsc")).toBuffer({
    event_id: "poison-iris",
    flower_id: "f",
    sepal_length: 1,
    sepal_width: 1,
    petal_length: 1,
    petal_width: 1,
    event_time: eventTime,
  });
}

export function paymentPoison(template: PaymentEventRecord, paymentsSchemaId: number, irisSchemaId: number): Poison[] {
  const payments = parseAvroSchema(readSchema("payments-event.avsc"));
  const encode = (overrides: Partial<PaymentEventRecord>) =>
    encodeWireFormat(paymentsSchemaId, payments.toBuffer({ ...template, ...overrides }));
  const good = encode({ event_id: "poison-truncated" });
  return [
    {
      what: "garbage bytes",
      message: { key: "p1", value: Buffer.from("definitely not avro") },
      code: "WIRE_FORMAT_INVALID",
    },
    { what: "empty value", message: { key: "p2", value: Buffer.alloc(0) }, code: "WIRE_FORMAT_INVALID" },
    {
      what: "unknown schema id",
      message: { key: "p3", value: encodeWireFormat(0x7ffffff0, good.subarray(5)) },
      code: "SCHEMA_NOT_FOUND",
    },
    {
      what: "truncated Avro body",
      message: { key: "p4", value: good.subarray(0, good.length - 4) },
      code: "AVRO_DECODE_FAILED",
    },
    {
      what: "a record of another schema (wrong types and fields)",
      message: {
        key: "p5",
        value: encodeWireFormat(irisSchemaId, irisPoisonBody(template.event_time)),
      },
      code: "SCHEMA_INCOMPATIBLE",
    },
    {
      what: "NaN amount",
      message: { key: "p6", value: encode({ event_id: "poison-nan", amount: Number.NaN }) },
      code: "CLEANING_REJECTED",
    },
    {
      what: "Infinity amount",
      message: { key: "p7", value: encode({ event_id: "poison-inf", amount: Number.POSITIVE_INFINITY }) },
      code: "CLEANING_REJECTED",
    },
    {
      what: "missing card id",
      message: { key: "p8", value: encode({ event_id: "poison-nocard", card_id: "" }) },
      code: "CLEANING_REJECTED",
    },
  ];
}

/** A poison record for any topic of Avro records in the Confluent wire format. */
export interface PoisonKind {
  what: string;
  code: string;
  value: Buffer;
}

/** Just under the broker's default message.max.bytes (1 MiB), with room for dead-letter headers. */
export const oversizedBytes = 900_000;

/**
 * What can be wrong with a record's framing, for any topic: `body` is a valid Avro body of the
 * topic's schema `schemaId`. Random bytes never start with the magic byte 0.
 */
export function framingPoison(schemaId: number, body: Buffer, random: () => number): PoisonKind[] {
  const noise = Buffer.from(Array.from({ length: 1 + Math.floor(random() * 200) }, () => Math.floor(random() * 256)));
  noise[0] = 1 + Math.floor(random() * 255);
  const framed = encodeWireFormat(schemaId, body);
  return [
    { what: "random bytes", code: "WIRE_FORMAT_INVALID", value: noise },
    { what: "empty value", code: "WIRE_FORMAT_INVALID", value: Buffer.alloc(0) },
    {
      what: "bad magic byte",
      code: "WIRE_FORMAT_INVALID",
      value: Buffer.concat([Buffer.from([1]), framed.subarray(1)]),
    },
    { what: "unknown schema id", code: "SCHEMA_NOT_FOUND", value: encodeWireFormat(0x7ffffff0, body) },
    { what: "truncated Avro body", code: "AVRO_DECODE_FAILED", value: framed.subarray(0, framed.length - 3) },
    {
      what: "oversized record (a valid record and 900 kB of trailing bytes)",
      code: "AVRO_DECODE_FAILED",
      value: Buffer.concat([framed, Buffer.alloc(oversizedBytes - framed.length, 1)]),
    },
  ];
}
