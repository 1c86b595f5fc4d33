// The ingest API alone: buildIngestApp with a sender that acknowledges at once, so the figure is
// HTTP + JSON parsing + validation + Avro encoding, without Kafka. Driven by the load client
// (autocannon, N keep-alive connections, big batches) in a child process.
import type { BatchingSender } from "../../services/shared/kafka/batching-sender.ts";
import type { BenchEnvironment, BenchPipeline } from "./environment.ts";
import { runLoadProcess } from "./load-process.ts";
import { repeat } from "./runs.ts";
import { startIngest } from "./services.ts";
import { ratePerSecond, type Summary } from "./stats.ts";

export const nullSender: BatchingSender = {
  send: async () => undefined,
  pendingRecords: 0,
  oldestPendingMs: 0,
  flush: async () => undefined,
};

export async function measureHttp(
  env: BenchEnvironment,
  pipeline: BenchPipeline,
  options: {
    seconds: number;
    connections: number;
    batch: number;
    cards: number;
    runs: number;
    log: (line: string) => void;
  },
): Promise<Summary> {
  const ingest = await startIngest(env, pipeline, nullSender);
  try {
    return await repeat("http (no Kafka)", options, async ({ index, warmUp }) => {
      const result = await runLoadProcess(
        {
          url: ingest.eventsUrl,
          mode: "duration",
          connections: options.connections,
          batch: options.batch,
          seconds: warmUp ? Math.min(2, options.seconds) : options.seconds,
          seed: 100 + index,
          idPrefix: `http${index}`,
          cards: options.cards,
        },
        options.seconds * 1000 + 120_000,
      );
      if (result.failedRequests > 0) throw new Error(`${result.failedRequests} HTTP requests failed`);
      return ratePerSecond(result.accepted, (result.finishedAt - result.startedAt) / 1000);
    });
  } finally {
    await ingest.stop();
  }
}
