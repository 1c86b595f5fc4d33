// docker-compose.yml cannot run here (no Docker engine); this checks what can be checked offline:
// it parses, what it references exists, and it agrees with the local stack and the config schema.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { loadStackConfig, projectRoot } from "../../../infra/local/config.ts";
import { memoryBudgetMiB, serviceNames, serviceNodeFlags } from "../../../infra/local/services.ts";
import { loadConnectionConfig } from "../../../services/shared/connection-settings.ts";
import { consolePort, defaultPorts } from "../../../services/shared/services.ts";
import { documentedSettings } from "../../../tools/config-table.ts";

const knownSettings = documentedSettings.flatMap((d) => Object.keys(d.settings));

interface ComposeService {
  image?: string;
  build?: { context: string; dockerfile: string };
  ports?: string[];
  volumes?: string[];
  depends_on?: string[] | Record<string, unknown>;
  environment?: Record<string, string>;
  command?: string[];
  mem_limit?: string;
}

const compose = parse(readFileSync(join(projectRoot, "docker-compose.yml"), "utf8"), { merge: true }) as {
  services: Record<string, ComposeService>;
  volumes?: Record<string, unknown>;
};
const services = compose.services;

function hostPort(service: string, containerPort: number): number | undefined {
  const mapping = services[service]?.ports?.find((p) => p.endsWith(`:${containerPort}`));
  return mapping ? Number(mapping.split(":")[1]) : undefined;
}

describe("docker-compose.yml", () => {
  it("has every server the local stack has, Grafana, and every streamscore service", () => {
    expect(Object.keys(services)).toEqual(
      expect.arrayContaining(["kafka", "schema-registry", "clickhouse", "prometheus", "grafana", ...serviceNames]),
    );
    for (const name of serviceNames) {
      expect(services[name]?.command).toEqual(["node", ...serviceNodeFlags(name), `services/${name}/main.ts`]);
    }
  });

  it("runs the console on its port, reading the compose Prometheus and services", () => {
    const consoleService = services.console;
    expect(consoleService?.command).toEqual(["node", "--max-old-space-size=256", "services/console/main.ts"]);
    expect(consoleService?.ports).toEqual([`127.0.0.1:${consolePort}:${consolePort}`]);
    expect(consoleService?.environment?.CONSOLE_PROMETHEUS_URL).toBe("http://prometheus:9090");
    const urls = String(consoleService?.environment?.CONSOLE_SERVICE_URLS).split(",");
    for (const name of serviceNames) expect(urls).toContain(`${name}=http://${name}:${defaultPorts[name]}`);
  });

  it("gives each streamscore service its memory budget", () => {
    for (const name of serviceNames) expect(services[name]?.mem_limit).toBe(`${memoryBudgetMiB[name]}m`);
  });

  it("publishes the same loopback ports as the local stack defaults", () => {
    const stack = loadStackConfig({});
    expect(hostPort("kafka", 9092)).toBe(stack.STACK_KAFKA_PORT);
    expect(hostPort("schema-registry", 8080)).toBe(stack.STACK_REGISTRY_PORT);
    expect(hostPort("clickhouse", 8123)).toBe(stack.STACK_CLICKHOUSE_HTTP_PORT);
    expect(hostPort("prometheus", 9090)).toBe(stack.STACK_PROMETHEUS_PORT);
    for (const service of Object.values(services)) {
      for (const port of service.ports ?? []) expect(port).toMatch(/^127\.0\.0\.1:/);
    }
  });

  it("keeps the registry's schemas in a file on a named volume, as the local stack does", () => {
    const registry = services["schema-registry"];
    const url = registry?.environment?.APICURIO_DATASOURCE_URL ?? "";
    expect(registry?.environment?.APICURIO_STORAGE_KIND).toBe("sql");
    expect(url).toMatch(/^jdbc:h2:file:\/var\/lib\/apicurio\/.+;WRITE_DELAY=0$/);
    const [volume, mountedAt] = (registry?.volumes?.[0] ?? "").split(":");
    expect(mountedAt).toBe("/var/lib/apicurio");
    expect(Object.keys(compose.volumes ?? {})).toContain(volume);
  });

  it("names only services that exist in depends_on", () => {
    for (const service of Object.values(services)) {
      const deps = Array.isArray(service.depends_on) ? service.depends_on : Object.keys(service.depends_on ?? {});
      for (const dep of deps) expect(Object.keys(services)).toContain(dep);
    }
  });

  it("mounts and builds from files that exist", () => {
    for (const service of Object.values(services)) {
      for (const volume of service.volumes ?? []) {
        const source = volume.split(":")[0] ?? "";
        // A bind mount names a path; anything else must be a named volume.
        if (source.startsWith(".")) expect(existsSync(join(projectRoot, source))).toBe(true);
        else expect(Object.keys(compose.volumes ?? {})).toContain(source);
      }
      if (service.build)
        expect(existsSync(join(projectRoot, service.build.context, service.build.dockerfile))).toBe(true);
      const entry = service.command?.find((part) => part.endsWith(".ts"));
      if (entry) expect(existsSync(join(projectRoot, entry))).toBe(true);
    }
  });

  it("gives streamscore services only known, valid settings", () => {
    for (const service of Object.values(services).filter((s) => s.build)) {
      const env = service.environment ?? {};
      for (const name of Object.keys(env)) expect(knownSettings).toContain(name);
      expect(() => loadConnectionConfig(env)).not.toThrow();
    }
  });
});
