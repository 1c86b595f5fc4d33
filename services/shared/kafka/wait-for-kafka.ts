// Start-up waits for the broker instead of failing: a service started (or restarted by its
// supervisor) while Kafka is away, during a broker restart or an outage, stays not ready and starts
// once a broker answers. Without this it exited 1 after kafkajs's connection retries (about 30 s),
// which a supervisor then had to notice.
import { setTimeout as sleep } from "node:timers/promises";
import { describeError } from "../errors.ts";
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
): Promise<T> {
  const log = logger.child({ module: "wait-for-kafka" });
  for (let attempt = 1; ; attempt += 1) {
    signal?.throwIfAborted();
    try {
      const result = await step();
      if (attempt > 1) log.info({ attempts: attempt, step: what }, "Kafka answers; starting");
      return result;
    } catch (error) {
      log.warn({ attempt, step: what, error: describeError(error) }, "Kafka does not answer; start-up waits for it");
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
