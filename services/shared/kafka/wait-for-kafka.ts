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

/** Resolves once the cluster answers a metadata request; rejects only when `signal` is aborted. */
export async function waitForKafka(kafka: Kafka, logger: Logger, signal?: AbortSignal): Promise<void> {
  const log = logger.child({ module: "wait-for-kafka" });
  for (let attempt = 1; ; attempt += 1) {
    signal?.throwIfAborted();
    const admin = kafka.admin();
    try {
      await admin.connect();
      await admin.describeCluster();
      if (attempt > 1) log.info({ attempts: attempt }, "Kafka answers; starting");
      return;
    } catch (error) {
      log.warn({ attempt, error: describeError(error) }, "Kafka does not answer; start-up waits for it");
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
    await sleep(Math.min(maxPauseMs, firstPauseMs * 2 ** (attempt - 1)), undefined, { signal }).catch(() => {
      signal?.throwIfAborted();
    });
  }
}
