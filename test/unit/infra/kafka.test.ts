import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadStackConfig } from "../../../infra/local/config.ts";
import {
  kafkaCredentials,
  kafkaServiceEnvironment,
  randomClusterId,
  serverProperties,
} from "../../../infra/local/kafka.ts";

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

  it("has no authentication or authorizer by default", () => {
    expect(props.get("authorizer.class.name")).toBeUndefined();
    expect(props.get("sasl.enabled.mechanisms")).toBeUndefined();
  });

  it("makes cluster ids the way Kafka's storage tool does: 16 random bytes, URL-safe base64, no padding", () => {
    const id = randomClusterId();
    expect(id).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(Buffer.from(id, "base64url")).toHaveLength(16);
    expect(randomClusterId()).not.toBe(id);
  });

  it("never makes a cluster id that the storage tool would read as an option", () => {
    // One id in 64 would start with "-" if drawn freely; 2,000 draws miss that with odds of 1e-14.
    const ids = Array.from({ length: 2000 }, () => randomClusterId());
    expect(ids.filter((id) => id.startsWith("-"))).toEqual([]);
  });
});

describe("secured local Kafka settings", () => {
  const config = loadStackConfig({
    STACK_DIR: "/tmp/s",
    STACK_KAFKA_PORT: "19092",
    STACK_KAFKA_CONTROLLER_PORT: "19093",
    STACK_KAFKA_SECURITY: "sasl",
  });
  const text = serverProperties(config, "/tmp/s/logs", { adminPassword: "admin-secret" });
  const props = properties(text);

  it("listens only with SASL, on both the broker and the controller port", () => {
    expect(props.get("listeners")).toBe("SASL_PLAINTEXT://127.0.0.1:19092,CONTROLLER://127.0.0.1:19093");
    expect(props.get("listener.security.protocol.map")).toBe("CONTROLLER:SASL_PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT");
    expect(text).not.toMatch(/(^|[,=])PLAINTEXT:\/\//m);
    expect(props.get("sasl.enabled.mechanisms")).toBe("SCRAM-SHA-256,SCRAM-SHA-512");
  });

  it("denies whatever no ACL allows, except to the admin", () => {
    expect(props.get("authorizer.class.name")).toBe("org.apache.kafka.metadata.authorizer.StandardAuthorizer");
    expect(props.get("allow.everyone.if.no.acl.found")).toBe("false");
    expect(props.get("super.users")).toBe("User:admin");
  });

  it("puts the admin password only into login entries", () => {
    const lines = text.split("\n").filter((line) => line.includes("admin-secret"));
    expect(lines.length).toBeGreaterThan(0);
    for (const line of lines) expect(line).toMatch(/^listener\.name\.[a-z_]+\.[a-z0-9-]+\.sasl\.jaas\.config=/);
  });

  it("with sasl_ssl, serves SASL over TLS from the stack's stores, the controller port still SASL-only", () => {
    const tlsConfig = loadStackConfig({ STACK_DIR: "/tmp/s", STACK_KAFKA_SECURITY: "sasl_ssl" });
    const tls = {
      caPem: "/c/ca.pem",
      keystore: "/c/broker.p12",
      truststore: "/c/trust.p12",
      storePassword: "store-secret",
    };
    const tlsText = serverProperties(tlsConfig, "/tmp/s/logs", { adminPassword: "admin-secret", tls });
    const tlsProps = properties(tlsText);
    expect(tlsProps.get("listeners")).toBe("SASL_SSL://127.0.0.1:9092,CONTROLLER://127.0.0.1:9093");
    expect(tlsProps.get("listener.security.protocol.map")).toBe("CONTROLLER:SASL_PLAINTEXT,SASL_SSL:SASL_SSL");
    expect(tlsProps.get("inter.broker.listener.name")).toBe("SASL_SSL");
    expect(tlsProps.get("ssl.keystore.location")).toBe("/c/broker.p12");
    expect(tlsProps.has("listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config")).toBe(true);
    for (const line of tlsText.split("\n").filter((l) => l.includes("store-secret"))) {
      expect(line).toMatch(/^ssl\.(keystore|key|truststore)\.password=/);
    }
    expect(() => serverProperties(tlsConfig, "/tmp/s/logs", { adminPassword: "admin-secret" })).toThrow(/keystore/);
  });

  it("refuses to write a secured config without the admin password", () => {
    expect(() => serverProperties(config, "/tmp/s/logs")).toThrow(/admin password/);
  });

  it("makes random passwords once per stack, readable by the owner only", () => {
    const dir = mkdtempSync(join(tmpdir(), "kafka-credentials-"));
    try {
      const first = kafkaCredentials(join(dir, "conf"));
      expect(Object.keys(first).sort()).toEqual(["admin", "inference", "ingest", "monitor", "transformer"]);
      expect(new Set(Object.values(first)).size).toBe(5);
      expect(kafkaCredentials(join(dir, "conf"))).toEqual(first);
      for (const file of ["credentials.json", "ingest.password"]) {
        expect(statSync(join(dir, "conf", file)).mode & 0o777).toBe(0o600);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("points services at their password file, never at the password, and adds nothing on a plaintext stack", () => {
    const dir = mkdtempSync(join(tmpdir(), "kafka-stack-"));
    try {
      const secured = loadStackConfig({ STACK_DIR: dir, STACK_KAFKA_SECURITY: "sasl" });
      const env = kafkaServiceEnvironment(secured, "transformer");
      const password = kafkaCredentials(join(dir, "conf", "kafka")).transformer ?? "";
      expect(env).toEqual({
        KAFKA_SASL_MECHANISM: "scram-sha-512",
        KAFKA_SASL_USERNAME: "transformer",
        KAFKA_SASL_PASSWORD_FILE: join(dir, "conf", "kafka", "transformer.password"),
      });
      expect(readFileSync(env.KAFKA_SASL_PASSWORD_FILE ?? "", "utf8")).toBe(password);
      expect(JSON.stringify(env)).not.toContain(password);
      expect(() => kafkaServiceEnvironment(secured, "stranger")).toThrow(/no Kafka user/);
      expect(kafkaServiceEnvironment(loadStackConfig({ STACK_DIR: dir }), "transformer")).toEqual({});
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
