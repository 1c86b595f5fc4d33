// ClickHouse server from Debian's packages, run with the project's own config and data dir.
import { createHash, randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { componentPaths, daemonComponent, type StackComponent } from "./component.ts";
import { projectRoot, type StackConfig } from "./config.ts";
import { ensureDebianPackages } from "./install.ts";
import { httpOk } from "./processes.ts";

function render(template: string, values: Record<string, string>): string {
  return readFileSync(join(projectRoot, "infra", "local", "templates", template), "utf8").replace(
    /\$\{([A-Z0-9_]+)\}/g,
    (whole, key: string) => values[key] ?? whole,
  );
}

export interface ClickHouseCredentials {
  writer: string;
  analyst: string;
}

function sha256(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}

export const writerUser = "streamscore_writer";
export const analystUser = "streamscore_analyst";

/**
 * The per-stack passwords of the writer and analyst users, made once and kept (mode 600): in
 * credentials.json, and each in a file of its own (`writer.password`, `analyst.password`) for the
 * services' CLICKHOUSE_PASSWORD_FILE setting.
 */
export function clickhouseCredentials(confDir: string): ClickHouseCredentials {
  const file = join(confDir, "credentials.json");
  let credentials: ClickHouseCredentials;
  if (existsSync(file)) {
    credentials = JSON.parse(readFileSync(file, "utf8")) as ClickHouseCredentials;
  } else {
    credentials = { writer: randomBytes(18).toString("base64url"), analyst: randomBytes(18).toString("base64url") };
    mkdirSync(confDir, { recursive: true });
    writeFileSync(file, `${JSON.stringify(credentials)}\n`, { mode: 0o600 });
  }
  for (const role of ["writer", "analyst"] as const) {
    const passwordFile = join(confDir, `${role}.password`);
    if (!existsSync(passwordFile)) writeFileSync(passwordFile, `${credentials[role]}\n`, { mode: 0o600 });
  }
  return credentials;
}

/**
 * How the services reach the stack's ClickHouse: as the writer, its password from the file the
 * stack wrote. Empty when the stack does not run ClickHouse (the services' own settings apply).
 */
export function clickhouseWriterEnvironment(config: StackConfig): Record<string, string> {
  if (!config.STACK_COMPONENTS.includes("clickhouse")) return {};
  const confDir = componentPaths(config, "clickhouse").confDir;
  clickhouseCredentials(confDir);
  return { CLICKHOUSE_USER: writerUser, CLICKHOUSE_PASSWORD_FILE: join(confDir, "writer.password") };
}

export function clickhouseComponent(config: StackConfig): StackComponent {
  const paths = componentPaths(config, "clickhouse");
  const base = `http://127.0.0.1:${config.STACK_CLICKHOUSE_HTTP_PORT}`;

  return daemonComponent({
    name: "clickhouse",
    endpoint: base,
    paths,
    timeoutMs: config.STACK_START_TIMEOUT_SECONDS * 1000,
    install: () =>
      ensureDebianPackages([
        { command: "clickhouse-server", pkg: "clickhouse-server" },
        { command: "clickhouse-client", pkg: "clickhouse-client" },
      ]),
    prepare: () => {
      mkdirSync(paths.confDir, { recursive: true });
      mkdirSync(join(paths.dataDir, "tmp"), { recursive: true });
      const usersFile = join(paths.confDir, "users.xml");
      const configFile = join(paths.confDir, "config.xml");
      const credentials = clickhouseCredentials(paths.confDir);
      writeFileSync(
        usersFile,
        render("clickhouse-users.xml", {
          DEFAULT_PASSWORD: "",
          DATABASE: "streamscore",
          WRITER_PASSWORD_SHA256: sha256(credentials.writer),
          ANALYST_PASSWORD_SHA256: sha256(credentials.analyst),
        }),
      );
      writeFileSync(
        configFile,
        render("clickhouse-config.xml", {
          LOG_DIR: join(config.STACK_DIR, "logs"),
          DATA_DIR: paths.dataDir,
          HTTP_PORT: String(config.STACK_CLICKHOUSE_HTTP_PORT),
          TCP_PORT: String(config.STACK_CLICKHOUSE_TCP_PORT),
          USERS_FILE: usersFile,
        }),
      );
      return { command: "clickhouse-server", args: [`--config-file=${configFile}`], cwd: paths.dataDir };
    },
    isHealthy: () => httpOk(`${base}/ping`),
  });
}
