import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { clickhouseCredentials, clickhouseWriterEnvironment } from "../../../infra/local/clickhouse.ts";
import { loadStackConfig } from "../../../infra/local/config.ts";
import { personalDataKeyFile } from "../../../infra/local/services.ts";
import { loadConnectionConfig } from "../../../services/shared/connection-settings.ts";
import { loadTransformerConfig } from "../../../services/transformer/config.ts";

describe("the local stack's credentials for the services", () => {
  const dir = mkdtempSync(join(tmpdir(), "stack-credentials-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const config = loadStackConfig({ STACK_DIR: dir });

  it("starts the services as the writer, its password in a file only the owner reads", () => {
    const env = clickhouseWriterEnvironment(config);
    expect(env.CLICKHOUSE_USER).toBe("streamscore_writer");
    const file = env.CLICKHOUSE_PASSWORD_FILE as string;
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const { writer } = clickhouseCredentials(join(dir, "conf", "clickhouse"));
    expect(loadConnectionConfig(env).CLICKHOUSE_PASSWORD).toBe(writer);
    expect(clickhouseWriterEnvironment(config)).toEqual(env);
  });

  it("leaves ClickHouse settings alone when the stack runs no ClickHouse", () => {
    expect(clickhouseWriterEnvironment(loadStackConfig({ STACK_DIR: dir, STACK_COMPONENTS: "kafka" }))).toEqual({});
  });

  it("makes one personal-data key and keeps it, so pseudonyms stay stable", () => {
    const file = personalDataKeyFile(config);
    const key = readFileSync(file, "utf8");
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(personalDataKeyFile(config)).toBe(file);
    expect(readFileSync(file, "utf8")).toBe(key);
    expect(loadTransformerConfig({ PERSONAL_DATA_KEY_FILE: file }).PERSONAL_DATA_KEY).toBe(key.trim());
  });
});
