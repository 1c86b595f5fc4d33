import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { describeSettings, loadConfig, parse, setting } from "../../../services/shared/config.ts";
import { connectionSettings, loadConnectionConfig } from "../../../services/shared/connection-settings.ts";
import { documentedSettings } from "../../../tools/config-table.ts";

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

  it("reads the SASL password from a file, which wins over the variable, and refuses a missing file", () => {
    const dir = mkdtempSync(join(tmpdir(), "sasl-"));
    const file = join(dir, "password");
    writeFileSync(file, "from-file-secret\n", { mode: 0o600 });
    const base = { KAFKA_SASL_MECHANISM: "scram-sha-512", KAFKA_SASL_USERNAME: "ingest" };
    try {
      expect(loadConnectionConfig({ ...base, KAFKA_SASL_PASSWORD_FILE: file }).KAFKA_SASL_PASSWORD).toBe(
        "from-file-secret",
      );
      expect(
        loadConnectionConfig({ ...base, KAFKA_SASL_PASSWORD_FILE: file, KAFKA_SASL_PASSWORD: "env" })
          .KAFKA_SASL_PASSWORD,
      ).toBe("from-file-secret");
      const missing = () => loadConnectionConfig({ ...base, KAFKA_SASL_PASSWORD_FILE: join(dir, "missing") });
      expect(missing).toThrow(/KAFKA_SASL_PASSWORD_FILE: cannot read/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("describes every setting with a doc line for the README table", () => {
    const rows = describeSettings(connectionSettings);
    expect(rows.map((r) => r.name)).toEqual(Object.keys(connectionSettings));
    for (const row of rows) expect(row.doc.length).toBeGreaterThan(5);
  });

  describe("secrets in files", () => {
    const dir = mkdtempSync(join(tmpdir(), "config-test-"));
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    it("reads the ClickHouse password from CLICKHOUSE_PASSWORD_FILE, which wins over CLICKHOUSE_PASSWORD", () => {
      const file = join(dir, "writer.password");
      writeFileSync(file, "from-the-file\n");
      const config = loadConnectionConfig({ CLICKHOUSE_PASSWORD: "from-env", CLICKHOUSE_PASSWORD_FILE: file });
      expect(config.CLICKHOUSE_PASSWORD).toBe("from-the-file");
    });

    it("names the setting and path of a missing or empty file, never a secret", () => {
      const missing = join(dir, "absent.password");
      const load = () => loadConnectionConfig({ CLICKHOUSE_PASSWORD: "pw-in-env", CLICKHOUSE_PASSWORD_FILE: missing });
      expect(load).toThrow(`CLICKHOUSE_PASSWORD_FILE: cannot read ${missing} (ENOENT)`);
      expect(load).not.toThrow(/pw-in-env/);
      const empty = join(dir, "empty.password");
      writeFileSync(empty, "");
      expect(() => loadConnectionConfig({ CLICKHOUSE_PASSWORD_FILE: empty })).toThrow(/is empty/);
    });
  });

  it("prints no secret value when any documented settings map fails to load", () => {
    for (const { title, settings } of documentedSettings) {
      const env: Record<string, string> = {};
      const secrets: string[] = [];
      for (const [name, spec] of Object.entries(settings)) {
        // Every secret gets a value that parses as nothing useful; every other setting a bad one.
        if (spec.secret) {
          env[name] = `not a url ${name}-s3cr3t`;
          secrets.push(env[name]);
        } else env[name] = "%%bad%%";
      }
      let message = "";
      try {
        // A setting that always fails, so every map's load reports its problems.
        loadConfig({ ...settings, TEST_PORT: setting(parse.port(), { doc: "" }) }, { ...env, TEST_PORT: "x" });
      } catch (error) {
        message = (error as Error).message;
      }
      expect(message, title).toMatch(/invalid configuration/);
      for (const secret of secrets) expect(message, title).not.toContain(secret);
    }
  });
});
