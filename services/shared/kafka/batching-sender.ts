// Coalesces the sends of concurrent callers (e.g. HTTP requests) into one produce request per
// linger period: with one request in flight (idempotence), per-call sends would serialize.
// Each caller's promise settles only when the broker acknowledged its records (acks=all).
import { type Message, needsNewProducerId, type Producer } from "./client.ts";

interface Pending {
  topic: string;
  messages: Message[];
  resolve: () => void;
  reject: (error: unknown) => void;
}

export interface BatchingSender {
  send(topic: string, messages: Message[]): Promise<void>;
  /** Records queued or in flight, for back-pressure decisions. */
  readonly pendingRecords: number;
  /**
   * How long the oldest record still waiting for its acknowledgement has waited (ms; 0 when none):
   * the queueing delay a new send would add to, whatever the records' count.
   */
  readonly oldestPendingMs: number;
  flush(): Promise<void>;
}

export function createBatchingSender(
  producer: Producer,
  options: {
    lingerMs: number;
    maxBatchRecords: number;
    timeoutMs: number;
    /** Replaces a producer whose idempotence state broke (see needsNewProducerId); without it such a producer fails every send. */
    renewProducer?: (broken: Producer) => Promise<Producer>;
  },
): BatchingSender {
  let current = producer;
  let queue: Pending[] = [];
  /** When the oldest record of `queue` was queued. */
  let queuedSince = 0;
  /** When the oldest record of each batch drained and not yet answered was queued, oldest first. */
  const drainedSince: number[] = [];
  let queuedRecords = 0;
  let inFlightRecords = 0;
  let timer: NodeJS.Timeout | undefined;
  let sending: Promise<void> = Promise.resolve();

  function schedule(): void {
    if (queuedRecords >= options.maxBatchRecords) {
      if (timer) clearTimeout(timer);
      timer = undefined;
      void drain();
    } else if (!timer) {
      timer = setTimeout(() => {
        timer = undefined;
        void drain();
      }, options.lingerMs);
    }
  }

  function drain(): Promise<void> {
    if (queue.length === 0) return sending;
    const batch = queue;
    const records = queuedRecords;
    // Batches are sent one after another, so they are answered in the order they are drained.
    drainedSince.push(queuedSince);
    queue = [];
    queuedRecords = 0;
    inFlightRecords += records;
    const byTopic = new Map<string, Message[]>();
    for (const item of batch) {
      const list = byTopic.get(item.topic) ?? [];
      for (const message of item.messages) list.push(message);
      byTopic.set(item.topic, list);
    }
    sending = sending.then(async () => {
      try {
        await current.sendBatch({
          topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })),
          acks: -1,
          timeout: options.timeoutMs,
        });
        for (const item of batch) item.resolve();
      } catch (error) {
        for (const item of batch) item.reject(error);
        // The callers were answered "not acknowledged" and retry with the same event ids, so a
        // resend under a new producer id can only repeat records, which de-duplication drops.
        if (options.renewProducer && needsNewProducerId(error)) {
          current = await options.renewProducer(current).catch(() => current);
        }
      } finally {
        inFlightRecords -= records;
        drainedSince.shift();
      }
    });
    return sending;
  }

  return {
    send(topic, messages) {
      return new Promise<void>((resolve, reject) => {
        if (queue.length === 0) queuedSince = Date.now();
        queue.push({ topic, messages, resolve, reject });
        queuedRecords += messages.length;
        schedule();
      });
    },
    get pendingRecords() {
      return queuedRecords + inFlightRecords;
    },
    get oldestPendingMs() {
      const oldest = drainedSince[0] ?? (queue.length > 0 ? queuedSince : undefined);
      return oldest === undefined ? 0 : Date.now() - oldest;
    },
    async flush() {
      if (timer) clearTimeout(timer);
      timer = undefined;
      await drain();
    },
  };
}
