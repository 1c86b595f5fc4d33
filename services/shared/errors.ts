// One closed list of error codes. Only `code` and `retriable` decide what happens to a failure
// (retry, dead-letter, crash); the message is for people.
export const errorCodes = {
  CONFIG_INVALID: { retriable: false },
  STACK_INSTALL_FAILED: { retriable: false },
  STACK_START_FAILED: { retriable: false },
  STACK_TIMEOUT: { retriable: true },
  WIRE_FORMAT_INVALID: { retriable: false },
  SCHEMA_NOT_FOUND: { retriable: false },
  SCHEMA_REGISTRY_UNAVAILABLE: { retriable: true },
  SCHEMA_INCOMPATIBLE: { retriable: false },
  AVRO_DECODE_FAILED: { retriable: false },
  AVRO_ENCODE_FAILED: { retriable: false },
  KAFKA_UNAVAILABLE: { retriable: true },
  // A librdkafka call that never called back (it ignores its own timeout in some broker states).
  KAFKA_CALL_UNANSWERED: { retriable: true },
  CLICKHOUSE_UNAVAILABLE: { retriable: true },
  CLICKHOUSE_QUERY_FAILED: { retriable: false },
  MIGRATION_FAILED: { retriable: false },
  MIGRATION_MISSING: { retriable: false },
  CLEANING_REJECTED: { retriable: false },
  FEATURES_INVALID: { retriable: false },
  MODEL_INVALID: { retriable: false },
  MODEL_INPUT_INVALID: { retriable: false },
  // A registry change the model's state does not allow (or a request missing a reason).
  MODEL_CHANGE_REFUSED: { retriable: false },
  // Two registry changes of one pipeline at once: the later one fenced the earlier.
  MODEL_CHANGE_CONFLICT: { retriable: true },
  MODEL_EVENT_INVALID: { retriable: false },
  SCORING_FAILED: { retriable: false },
  SCORED_RECORD_INVALID: { retriable: false },
  KAFKA_PRODUCER_FENCED: { retriable: true },
  TEST_ABORT_INJECTED: { retriable: true },
  REQUEST_INVALID: { retriable: false },
  DRIFT_INPUT_INVALID: { retriable: false },
  // A thrown value that is not a StreamscoreError (a library's own error) where a record's decode
  // or mapping failed: the record is dead-lettered under this code rather than stopping its batch.
  UNEXPECTED: { retriable: false },
} as const satisfies Record<string, { retriable: boolean }>;

export type ErrorCode = keyof typeof errorCodes;

export class StreamscoreError extends Error {
  readonly code: ErrorCode;
  readonly retriable: boolean;

  constructor(code: ErrorCode, message: string, options: { cause?: unknown; retriable?: boolean } = {}) {
    super(message, { cause: options.cause });
    this.name = "StreamscoreError";
    this.code = code;
    this.retriable = options.retriable ?? errorCodes[code].retriable;
  }
}

export function isStreamscoreError(error: unknown): error is StreamscoreError {
  return error instanceof StreamscoreError;
}

/** The closed-list code of any thrown value: its own code, or UNEXPECTED. */
export function errorCode(error: unknown): ErrorCode {
  return isStreamscoreError(error) ? error.code : "UNEXPECTED";
}

/** A one-line description of any thrown value, for logs and dead-letter headers. */
export function describeError(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}
