import { describe, expect, it } from "vitest";
import { loadStackConfig } from "../../../infra/local/config.ts";
import { randomClusterId, serverProperties } from "../../../infra/local/kafka.ts";

function properties(text: string): Map<string, string> {
  return new Map(
    text
      .trim()
      .split("\n")
      .map((line) => line.split("=", 2) as [string, string]),
  );
}

describe("local Kafka settings", () => {
  const config = loadStackConfig({
    STACK_DIR: "/tmp/s",
    STACK_KAFKA_PORT: "19092",
    STACK_KAFKA_CONTROLLER_PORT: "19093",
  });
  const props = properties(serverProperties(config, "/tmp/s/logs"));

  it("runs one combined broker+controller on loopback", () => {
    expect(props.get("process.roles")).toBe("broker,controller");
    expect(props.get("listeners")).toBe("PLAINTEXT://127.0.0.1:19092,CONTROLLER://127.0.0.1:19093");
    expect(props.get("controller.quorum.voters")).toBe("1@127.0.0.1:19093");
  });

  it("gives internal topics replication factor 1 so groups and transactions work on one broker", () => {
    expect(props.get("offsets.topic.replication.factor")).toBe("1");
    expect(props.get("transaction.state.log.replication.factor")).toBe("1");
    expect(props.get("transaction.state.log.min.isr")).toBe("1");
  });

  it("makes cluster ids the way Kafka's storage tool does: 16 random bytes, URL-safe base64, no padding", () => {
    const id = randomClusterId();
    expect(id).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(Buffer.from(id, "base64url")).toHaveLength(16);
    expect(randomClusterId()).not.toBe(id);
  });
});
