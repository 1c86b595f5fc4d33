// A quick look at the cluster for `status`: whether a broker answers, how many brokers and topics.
// Bounded, because kafkajs retries a missing broker for half a minute before it gives up.
import type { Kafka } from "./client.ts";

export interface ClusterInfo {
  brokers: number;
  topics: number;
}

export async function describeKafkaCluster(kafka: Kafka, timeoutMs: number): Promise<ClusterInfo> {
  const admin = kafka.admin();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    return await Promise.race([
      (async () => {
        await admin.connect();
        const cluster = await admin.describeCluster();
        const topics = await admin.listTopics();
        return { brokers: cluster.brokers.length, topics: topics.filter((t) => !t.startsWith("__")).length };
      })(),
      timeout,
    ]);
  } finally {
    clearTimeout(timer);
    await admin.disconnect().catch(() => undefined);
  }
}
