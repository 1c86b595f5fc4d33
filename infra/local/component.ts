// What every part of the local stack offers to `stack up/down/status`.
import { join } from "node:path";
import type { StackConfig } from "./config.ts";
import { type DaemonSpec, isAlive, readPid, startDaemon, stopDaemon, waitUntilHealthy } from "./processes.ts";

export interface StackComponent {
  readonly name: string;
  /** Where clients reach it, as printed by `stack:up` and `stack:status`. */
  readonly endpoint: string;
  readonly logFile: string;
  /** Installs what is missing; a no-op once installed. */
  install(): void;
  isHealthy(): Promise<boolean>;
  /** Starts the process (after install) and resolves once it is healthy. */
  start(): Promise<void>;
  stop(): Promise<boolean>;
  pid(): number | undefined;
}

export interface ComponentPaths {
  dataDir: string;
  confDir: string;
  logFile: string;
  pidFile: string;
}

export function componentPaths(config: StackConfig, name: string): ComponentPaths {
  return {
    dataDir: join(config.STACK_DIR, "data", name),
    confDir: join(config.STACK_DIR, "conf", name),
    logFile: join(config.STACK_DIR, "logs", `${name}.log`),
    pidFile: join(config.STACK_DIR, "run", `${name}.pid`),
  };
}

/** The shared shape of a daemon-backed component; each part supplies install, prepare and health. */
export function daemonComponent(options: {
  name: string;
  endpoint: string;
  paths: ComponentPaths;
  timeoutMs: number;
  install: () => void;
  /** Writes config files, formats storage; returns how to run the process. */
  prepare: () => Omit<DaemonSpec, "logFile" | "pidFile">;
  isHealthy: () => Promise<boolean>;
}): StackComponent {
  const { paths } = options;
  return {
    name: options.name,
    endpoint: options.endpoint,
    logFile: paths.logFile,
    install: options.install,
    isHealthy: options.isHealthy,
    pid: () => {
      const pid = readPid(paths.pidFile);
      return isAlive(pid) ? pid : undefined;
    },
    async start() {
      options.install();
      const pid = startDaemon({ ...options.prepare(), logFile: paths.logFile, pidFile: paths.pidFile });
      await waitUntilHealthy(options.name, options.isHealthy, {
        timeoutMs: options.timeoutMs,
        pid,
        logFile: paths.logFile,
      });
    },
    stop: () => stopDaemon(paths.pidFile),
  };
}
