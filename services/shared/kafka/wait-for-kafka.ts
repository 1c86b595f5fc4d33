// Start-up waits for the broker instead of failing: a service started (or restarted by its
// supervisor) while Kafka is away, during a broker restart or an outage, stays not ready and starts
// once a broker answers. Without this it exited 1 after kafkajs's connection retries (about 30 s),
// which a supervisor then had to notice.
import { setTimeout as sleep } from "node:timers/promises";
import { describeError, type ErrorCode, isStreamscoreError } from "../errors.ts";
import type { Logger } from "../logger.ts";
import type { Kafka } from "./client.ts";

const firstPauseMs = 500;
const maxPauseMs = 10_000;

/**
 * Runs a start-up step until it succeeds, with a pause from 0.5 s to 10 s between attempts; rejects
 * only when `signal` is aborted. For steps that need a broker: one can go away right after the first
 * answer (the release gate killed it 1.3 s into a monitor's start, and its producer's connect gave up).
 */
export async function retryWhileKafkaAway<T>(
  what: string,
  step: () => Promise<T>,
  logger: Logger,
  signal?: AbortSignal,
  pauses = { firstMs: firstPauseMs, maxMs: maxPauseMs },
  retryable: (error: unknown) => boolean = () => true,
): Promise<T> {
  const log = logger.child({ module: "wait-for-kafka" });
  for (let attempt = 1; ; attempt += 1) {
    signal?.throwIfAborted();
    try {
      const result = await step();
      if (attempt > 1) log.info({ attempts: attempt, step: what }, "start-up step succeeded after retries");
      return result;
    } catch (error) {
      if (!retryable(error)) throw error;
      log.warn({ attempt, step: what, error: describeError(error) }, "start-up step failed; waiting to try it again");
    }
    await sleep(Math.min(pauses.maxMs, pauses.firstMs * 2 ** (attempt - 1)), undefined, { signal }).catch(() => {
      signal?.throwIfAborted();
    });
  }
}

/** Resolves once the cluster answers a metadata request; rejects only when `signal` is aborted. */
export async function waitForKafka(kafka: Kafka, logger: Logger, signal?: AbortSignal): Promise<void> {
  await retryWhileKafkaAway(
    "metadata",
    async () => {
      const admin = kafka.admin();
      try {
        await admin.connect();
        await admin.describeCluster();
      } finally {
        await admin.disconnect().catch(() => undefined);
      }
    },
    logger,
    signal,
  );
}

/** Kafka's authorization and authentication failures, as librdkafka numbers them (kafkajs too). */
const refusedCodes = new Set([29, 30, 31, 53, 58, -169]);

/**
 * The broker refused this principal (an ACL or its credentials): no retry mends that, so start-up
 * fails loudly instead of waiting for ever. Both clients name the Kafka error in the message or
 * `type` (kafkajs) or its code (librdkafka), sometimes on a wrapped cause.
 */
export function isAccessRefused(error: unknown): boolean {
  for (let e: unknown = error, depth = 0; e instanceof Object && depth < 5; depth += 1) {
    const { message, type, code, name } = e as { message?: unknown; type?: unknown; code?: unknown; name?: unknown };
    const text = `${String(name ?? "")} ${String(type ?? "")} ${String(message ?? "")}`;
    if (/AUTHORIZATION_FAILED|AUTHENTICATION|not authorized|authentication failed/i.test(text)) return true;
    if (typeof code === "number" && refusedCodes.has(code)) return true;
    e = (e as { cause?: unknown }).cause;
  }
  return false;
}

/**
 * Opens a service while the broker may come and go: `open` is tried again (after it closed what it
 * had opened) until it succeeds or a stop is asked for. The first metadata answer is no promise for
 * the next step: the release gate killed the broker 1.3 s into a start, and a consumer's first join
 * or a transactional producer's init then failed. Failures only a person can mend (a refused
 * principal, a missing migration, an incompatible schema) end start-up at once instead.
 */
export function openWhileKafkaAway<T>(open: () => Promise<T>, logger: Logger, signal?: AbortSignal): Promise<T> {
  return retryWhileKafkaAway("start-up", open, logger, signal, undefined, (error) => !needsAnOperator(error));
}

/** Start-up failures only a person can mend: waiting for them would hide them behind retries. */
const operatorCodes = new Set<ErrorCode>([
  "CONFIG_INVALID",
  "SCHEMA_INCOMPATIBLE",
  "MIGRATION_MISSING",
  "MIGRATION_FAILED",
]);

function needsAnOperator(error: unknown): boolean {
  return isAccessRefused(error) || (isStreamscoreError(error) && operatorCodes.has(error.code));
}
