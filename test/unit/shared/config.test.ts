import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { describeSettings, loadConfig, parse, setting } from "../../../services/shared/config.ts";
import { connectionSettings, loadConnectionConfig } from "../../../services/shared/connection-settings.ts";

describe("configuration", () => {
  it("uses the documented defaults when nothing is set", () => {
    const config = loadConnectionConfig({});
    expect(config.KAFKA_BROKERS).toEqual(["127.0.0.1:9092"]);
    expect(config.SCHEMA_REGISTRY_URL).toBe("http://127.0.0.1:8085/apis/ccompat/v7");
    expect(config.CLICKHOUSE_DATABASE).toBe("streamscore");
    expect(config.KAFKA_SSL).toBe(false);
  });

  it("parses lists, booleans and numbers from strings", () => {
    const config = loadConnectionConfig({ KAFKA_BROKERS: " a:1, b:2 ,", KAFKA_SSL: "1" });
    expect(config.KAFKA_BROKERS).toEqual(["a:1", "b:2"]);
    expect(config.KAFKA_SSL).toBe(true);
    const ports = loadConfig({ PORT: setting(parse.port(), { default: "80", doc: "" }) }, { PORT: "8080" });
    expect(ports.PORT).toBe(8080);
  });

  it("names every bad variable at once", () => {
    const load = () => loadConnectionConfig({ CLICKHOUSE_URL: "not a url", KAFKA_SSL: "yes", LOG_LEVEL: "loud" });
    expect(load).toThrow(/KAFKA_SSL: must be true or false \(got "yes"\)/);
    expect(load).toThrow(/CLICKHOUSE_URL: must be a URL/);
    expect(load).toThrow(/LOG_LEVEL: must be one of fatal/);
  });

  it("never echoes a secret's value in an error", () => {
    const settings = { TOKEN: setting(parse.url(), { doc: "", secret: true }) };
    expect(() => loadConfig(settings, { TOKEN: "hunter2" })).toThrow(/TOKEN/);
    expect(() => loadConfig(settings, { TOKEN: "hunter2" })).not.toThrow(/hunter2/);
  });

  it("requires SASL credentials when a mechanism is chosen", () => {
    expect(() =>
      loadConnectionConfig({ KAFKA_SASL_MECHANISM: "scram-sha-512", KAFKA_SASL_USERNAME: "ingest" }),
    ).toThrow(/KAFKA_SASL_PASSWORD: is required when KAFKA_SASL_MECHANISM=scram-sha-512/);
    expect(
      loadConnectionConfig({ KAFKA_SASL_MECHANISM: "plain", KAFKA_SASL_USERNAME: "u", KAFKA_SASL_PASSWORD: "p" })
        .KAFKA_SASL_MECHANISM,
    ).toBe("plain");
  });

  it("reads the SASL password from a file, refuses a missing file, and refuses both ways at once", () => {
    const dir = mkdtempSync(join(tmpdir(), "sasl-"));
    const file = join(dir, "password");
    writeFileSync(file, "from-file-secret\n", { mode: 0o600 });
    const base = { KAFKA_SASL_MECHANISM: "scram-sha-512", KAFKA_SASL_USERNAME: "ingest" };
    try {
      expect(loadConnectionConfig({ ...base, KAFKA_SASL_PASSWORD_FILE: file }).KAFKA_SASL_PASSWORD).toBe(
        "from-file-secret",
      );
      expect(() => loadConnectionConfig({ ...base, KAFKA_SASL_PASSWORD_FILE: join(dir, "missing") })).toThrow(
        /KAFKA_SASL_PASSWORD_FILE: cannot read/,
      );
      const both = () => loadConnectionConfig({ ...base, KAFKA_SASL_PASSWORD_FILE: file, KAFKA_SASL_PASSWORD: "env" });
      expect(both).toThrow(/either it or KAFKA_SASL_PASSWORD/);
      expect(both).not.toThrow(/from-file-secret/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("describes every setting with a doc line for the README table", () => {
    const rows = describeSettings(connectionSettings);
    expect(rows.map((r) => r.name)).toEqual(Object.keys(connectionSettings));
    for (const row of rows) expect(row.doc.length).toBeGreaterThan(5);
  });
});
