// librdkafka's connection settings come from the same settings the kafkajs clients use: every
// security mode maps to its librdkafka protocol and mechanism, and a CA file is read at start-up.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { KafkaConnectionConfig } from "../../../services/shared/kafka/client.ts";
import { librdkafkaSettings } from "../../../services/shared/kafka/librdkafka.ts";

const plain: KafkaConnectionConfig = {
  KAFKA_BROKERS: ["127.0.0.1:9092", "127.0.0.1:9093"],
  KAFKA_CLIENT_ID: "streamscore",
  KAFKA_SASL_MECHANISM: "none",
  KAFKA_SASL_USERNAME: undefined,
  KAFKA_SASL_PASSWORD: undefined,
  KAFKA_SSL: false,
  KAFKA_SSL_CA_FILE: undefined,
};

describe("librdkafkaSettings", () => {
  it("joins the brokers, suffixes the client id and speaks plaintext without SASL", () => {
    const settings = librdkafkaSettings(plain, "inference");
    expect(settings["bootstrap.servers"]).toBe("127.0.0.1:9092,127.0.0.1:9093");
    expect(settings["client.id"]).toBe("streamscore-inference");
    expect(settings["security.protocol"]).toBe("plaintext");
    expect(settings["sasl.mechanisms"]).toBeUndefined();
  });

  it.each([
    ["plain", false, "sasl_plaintext", "PLAIN"],
    ["scram-sha-256", false, "sasl_plaintext", "SCRAM-SHA-256"],
    ["scram-sha-512", true, "sasl_ssl", "SCRAM-SHA-512"],
  ] as const)("maps SASL %s (TLS %s) to %s with mechanism %s", (mechanism, ssl, protocol, name) => {
    const settings = librdkafkaSettings({
      ...plain,
      KAFKA_SASL_MECHANISM: mechanism,
      KAFKA_SASL_USERNAME: "svc",
      KAFKA_SASL_PASSWORD: "secret",
      KAFKA_SSL: ssl,
    });
    expect(settings["security.protocol"]).toBe(protocol);
    expect(settings["sasl.mechanisms"]).toBe(name);
    expect(settings["sasl.username"]).toBe("svc");
    expect(settings["sasl.password"]).toBe("secret");
  });

  it("passes the CA certificate's PEM, and fails naming a missing file", () => {
    const dir = mkdtempSync(join(tmpdir(), "ca-"));
    const file = join(dir, "ca.pem");
    writeFileSync(file, "-----BEGIN CERTIFICATE-----\nabc\n-----END CERTIFICATE-----\n");
    const settings = librdkafkaSettings({ ...plain, KAFKA_SSL: true, KAFKA_SSL_CA_FILE: file });
    expect(settings["security.protocol"]).toBe("ssl");
    expect(settings["ssl.ca.pem"]).toContain("BEGIN CERTIFICATE");
    expect(() =>
      librdkafkaSettings({ ...plain, KAFKA_SSL: true, KAFKA_SSL_CA_FILE: join(dir, "missing.pem") }),
    ).toThrow(/missing\.pem/);
  });
});
