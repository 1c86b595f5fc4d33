// Dead-letter records: the original key, value and headers, plus headers that say why and where from.
import { describeError, errorCode } from "../errors.ts";
import type { IHeaders, KafkaMessage, Message } from "./client.ts";

export interface SourcePosition {
  topic: string;
  partition: number;
  offset: string;
}

export function deadLetter(original: KafkaMessage, source: SourcePosition, stage: string, error: unknown): Message {
  const headers: IHeaders = {
    ...(original.headers ?? {}),
    "x-error-code": errorCode(error),
    "x-error-message": describeError(error).slice(0, 1000),
    "x-error-stage": stage,
    "x-original-topic": source.topic,
    "x-original-partition": String(source.partition),
    "x-original-offset": source.offset,
    "x-original-timestamp": original.timestamp,
  };
  return { key: original.key, value: original.value, headers };
}

export type Decoded<T> = { ok: true; value: T } | { ok: false };

/**
 * Decodes one record, or hands it with its error to `reject` (which dead-letters it), so that one
 * poison record never stops its batch. Every consumer decodes through here.
 */
export function decodeOrDeadLetter<T>(
  message: KafkaMessage,
  decode: (message: KafkaMessage) => T,
  reject: (message: KafkaMessage, error: unknown) => void,
): Decoded<T> {
  try {
    return { ok: true, value: decode(message) };
  } catch (error) {
    reject(message, error);
    return { ok: false };
  }
}

export function headerText(headers: IHeaders | undefined, name: string): string | undefined {
  const value = headers?.[name];
  if (value === undefined) return undefined;
  const first = Array.isArray(value) ? value[0] : value;
  return first === undefined ? undefined : first.toString();
}
