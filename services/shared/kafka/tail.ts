// Reads a topic batch by batch for a person watching it (the CLI's `tail`): as a throwaway group,
// deleted afterwards, unless a group is named, whose offsets are then committed.
import { randomBytes } from "node:crypto";
import type { Kafka, KafkaMessage } from "./client.ts";

export interface TailOptions {
  topic: string;
  /** A named group commits its offsets; without one, a throwaway group reads and is deleted. */
  groupId?: string;
  fromBeginning: boolean;
  /** Gets each batch; returns true once it wants no more. */
  onBatch(partition: number, messages: KafkaMessage[]): Promise<boolean>;
  /** Stops the tail early (Ctrl-C). */
  until: Promise<void>;
  /** Stops the tail this long after it started reading (connecting is not counted). */
  timeoutMs?: number;
}

export async function tailTopic(kafka: Kafka, options: TailOptions): Promise<void> {
  const groupId = options.groupId ?? `streamscore-tail-${randomBytes(4).toString("hex")}`;
  const consumer = kafka.consumer({ groupId, readUncommitted: false });
  let finish: () => void = () => {};
  const done = new Promise<void>((resolve) => {
    finish = resolve;
  });
  options.until.then(finish, finish);
  await consumer.connect();
  try {
    await consumer.subscribe({ topic: options.topic, fromBeginning: options.fromBeginning });
    await consumer.run({
      autoCommit: options.groupId !== undefined,
      eachBatch: async ({ batch }) => {
        if (await options.onBatch(batch.partition, batch.messages)) finish();
      },
    });
    if (options.timeoutMs) setTimeout(finish, options.timeoutMs).unref();
    await done;
  } finally {
    await consumer.disconnect();
  }
  if (!options.groupId) {
    const admin = kafka.admin();
    await admin.connect();
    await admin.deleteGroups([groupId]).catch(() => undefined);
    await admin.disconnect();
  }
}
