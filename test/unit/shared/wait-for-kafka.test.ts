// A start-up step that needs a broker is tried again while the broker is away, and given up only
// when a stop is asked for.
import { describe, expect, it } from "vitest";
import { retryWhileKafkaAway } from "../../../services/shared/kafka/wait-for-kafka.ts";
import { createLogger } from "../../../services/shared/logger.ts";

const logger = createLogger({ name: "test", level: "silent" });
const pauses = { firstMs: 5, maxMs: 20 };

describe("retryWhileKafkaAway", () => {
  it("tries a failing step again until it succeeds, and returns its result", async () => {
    let attempts = 0;
    const result = await retryWhileKafkaAway(
      "producer connect",
      async () => {
        attempts += 1;
        if (attempts < 4) throw new Error("Connection error: connect ECONNREFUSED");
        return "connected";
      },
      logger,
      undefined,
      pauses,
    );
    expect(result).toBe("connected");
    expect(attempts).toBe(4);
  });

  it("gives up when the stop signal is aborted, with the signal's reason", async () => {
    const aborter = new AbortController();
    let attempts = 0;
    const stopped = retryWhileKafkaAway(
      "producer connect",
      async () => {
        attempts += 1;
        if (attempts === 3) aborter.abort(new Error("SIGTERM during start-up"));
        throw new Error("There is no leader for this topic-partition");
      },
      logger,
      aborter.signal,
      pauses,
    );
    await expect(stopped).rejects.toThrow("SIGTERM during start-up");
    expect(attempts).toBe(3);
  });
});
