// A start-up step that needs a broker is tried again while the broker is away, and given up only
// when a stop is asked for; a refused principal is not waited for.
import { describe, expect, it } from "vitest";
import { StreamscoreError } from "../../../services/shared/errors.ts";
import {
  isAccessRefused,
  openWhileKafkaAway,
  retryWhileKafkaAway,
} from "../../../services/shared/kafka/wait-for-kafka.ts";
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

describe("isAccessRefused", () => {
  it("knows a refusal by kafkajs's type, librdkafka's code or a wrapped cause", () => {
    const kafkajs = Object.assign(new Error("Not authorized to access group: Group authorization failed"), {
      name: "KafkaJSProtocolError",
      type: "GROUP_AUTHORIZATION_FAILED",
    });
    const librdkafka = Object.assign(new Error("Broker: Transactional Id authorization failed"), { code: 53 });
    const sasl = Object.assign(new Error("SASL SCRAM-SHA-512 authentication failed: bad password"), {
      name: "KafkaJSSASLAuthenticationError",
    });
    const wrapped = new Error("start-up failed", { cause: Object.assign(new Error("Broker: refused"), { code: 29 }) });
    for (const error of [kafkajs, librdkafka, sasl, wrapped]) expect(isAccessRefused(error)).toBe(true);
  });

  it("takes a broker that is away or busy for something to wait out", () => {
    const away = [
      Object.assign(new Error("Connection error: connect ECONNREFUSED 127.0.0.1:9092"), { code: "ECONNREFUSED" }),
      Object.assign(new Error("Local: Broker transport failure"), { code: -195 }),
      Object.assign(new Error("The coordinator is loading and hence can't process requests"), {
        type: "COORDINATOR_LOAD_IN_PROGRESS",
        code: 14,
      }),
      "a thrown string",
    ];
    for (const error of away) expect(isAccessRefused(error)).toBe(false);
  });
});

describe("openWhileKafkaAway", () => {
  it("starts again after a failed attempt while the broker is away", async () => {
    let attempts = 0;
    const opened = await openWhileKafkaAway(async () => {
      attempts += 1;
      if (attempts === 1) throw Object.assign(new Error("Local: All broker connections are down"), { code: -187 });
      return "open";
    }, logger);
    expect(opened).toBe("open");
    expect(attempts).toBe(2);
  });

  it("fails at once on a failure only a person can mend: a missing migration", async () => {
    let attempts = 0;
    const opened = openWhileKafkaAway(async () => {
      attempts += 1;
      throw new StreamscoreError("MIGRATION_MISSING", "ClickHouse database streamscore lacks migration 007_kind");
    }, logger);
    await expect(opened).rejects.toThrow("lacks migration 007_kind");
    expect(attempts).toBe(1);
  });

  it("fails at once when the broker refused access, since waiting cannot mend it", async () => {
    let attempts = 0;
    const opened = openWhileKafkaAway(async () => {
      attempts += 1;
      throw Object.assign(new Error("Not authorized to access topics"), { type: "TOPIC_AUTHORIZATION_FAILED" });
    }, logger);
    await expect(opened).rejects.toThrow("Not authorized to access topics");
    expect(attempts).toBe(1);
  });
});
