// Prometheus from Debian's packages, scraping the streamscore services on loopback.
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { componentPaths, daemonComponent, type StackComponent } from "./component.ts";
import { projectRoot, type StackConfig } from "./config.ts";
import { ensureDebianPackages } from "./install.ts";
import { httpOk } from "./processes.ts";

/**
 * Where target files for services on other ports go (prometheus.yml's file_sd_configs, relative to
 * it there). Created before start so Prometheus watches it from the first moment.
 */
export const prometheusTargetsDir = join(projectRoot, ".stack", "prometheus-targets");

export function prometheusComponent(config: StackConfig): StackComponent {
  const paths = componentPaths(config, "prometheus");
  const base = `http://127.0.0.1:${config.STACK_PROMETHEUS_PORT}`;

  return daemonComponent({
    name: "prometheus",
    endpoint: base,
    paths,
    timeoutMs: config.STACK_START_TIMEOUT_SECONDS * 1000,
    install: () => ensureDebianPackages([{ command: "prometheus", pkg: "prometheus" }]),
    prepare: () => {
      mkdirSync(paths.dataDir, { recursive: true });
      mkdirSync(prometheusTargetsDir, { recursive: true });
      return {
        command: "prometheus",
        args: [
          `--config.file=${join(projectRoot, "infra", "prometheus", "prometheus.yml")}`,
          `--storage.tsdb.path=${paths.dataDir}`,
          "--storage.tsdb.retention.time=2d",
          `--web.listen-address=127.0.0.1:${config.STACK_PROMETHEUS_PORT}`,
        ],
        cwd: paths.dataDir,
      };
    },
    isHealthy: () => httpOk(`${base}/-/ready`),
  });
}
