// Ordered, bounded, run-once shutdown on SIGTERM/SIGINT, and loud failure on start-up errors.
import type { Logger } from "./logger.ts";

export interface ServiceHandle {
  /** Stops intake, finishes the in-flight batch, flushes, commits, closes clients. */
  stop(): Promise<void>;
}

export function runService(options: {
  logger: Logger;
  start: () => Promise<ServiceHandle>;
  /** The whole shutdown must finish within this bound, or the process exits 1. */
  shutdownTimeoutMs: number;
}): void {
  const { logger } = options;
  const startup = options.start();
  let stopping = false;

  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, "shutting down");
    const timer = setTimeout(() => {
      logger.error({ timeoutMs: options.shutdownTimeoutMs }, "shutdown timed out");
      process.exit(1);
    }, options.shutdownTimeoutMs);
    timer.unref();
    // A signal can arrive while start-up is still opening clients: wait for it, then stop what it
    // opened. Exiting 0 before that would leave clients half-open.
    startup
      .then((handle) => handle.stop())
      .then(() => {
        logger.info("stopped");
        process.exit(0);
      })
      .catch((error: unknown) => {
        logger.error({ err: error }, "shutdown failed");
        process.exit(1);
      });
  };

  process.once("SIGTERM", () => shutdown("SIGTERM"));
  process.once("SIGINT", () => shutdown("SIGINT"));
  process.on("unhandledRejection", (error) => {
    logger.fatal({ err: error }, "unhandled rejection");
    process.exit(1);
  });

  startup.catch((error: unknown) => {
    logger.fatal({ err: error }, "start-up failed");
    process.exit(1);
  });
}
