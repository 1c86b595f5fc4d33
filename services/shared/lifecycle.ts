// Ordered, bounded, run-once shutdown on SIGTERM/SIGINT, and loud failure on start-up errors.
import type { Logger } from "./logger.ts";

export interface ServiceHandle {
  /** Stops intake, finishes the in-flight batch, flushes, commits, closes clients. */
  stop(): Promise<void>;
}

/**
 * Runs `start`; when it fails, `stop` closes what it had opened (a stop must cope with a start that
 * got half way) and the start's error is rethrown, so the caller can try again with nothing left open.
 */
export async function stopIfStartFails<T>(start: () => Promise<T>, stop: () => Promise<void>): Promise<T> {
  try {
    return await start();
  } catch (error) {
    await stop().catch(() => undefined);
    throw error;
  }
}

/**
 * Runs every closing step in order even when one fails, then throws the first failure: a client
 * that fails to close must not leave the next one (a listening port) open.
 */
export async function closeInOrder(steps: Array<() => Promise<unknown>>): Promise<void> {
  const failures: unknown[] = [];
  for (const step of steps) await step().catch((error: unknown) => failures.push(error));
  if (failures.length > 0) throw failures[0];
}

export function runService(options: {
  logger: Logger;
  /**
   * Opens the service's clients and starts it. `signal` is aborted when a stop is asked for during
   * start-up, so a start-up that waits (for a broker that is away) can give up and exit cleanly.
   */
  start: (signal: AbortSignal) => Promise<ServiceHandle>;
  /** The whole shutdown must finish within this bound, or the process exits 1. */
  shutdownTimeoutMs: number;
}): void {
  const { logger } = options;
  const aborter = new AbortController();
  const startup = options.start(aborter.signal);
  let stopping = false;
  /** A start-up that gave up because a stop was asked for: nothing was left open. */
  const abandoned = (error: unknown) => stopping && aborter.signal.aborted && aborter.signal.reason === error;

  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, "shutting down");
    const timer = setTimeout(() => {
      logger.error({ timeoutMs: options.shutdownTimeoutMs }, "shutdown timed out");
      process.exit(1);
    }, options.shutdownTimeoutMs);
    timer.unref();
    aborter.abort(new Error(`${signal} during start-up`));
    // A signal can arrive while start-up is still opening clients: wait for it, then stop what it
    // opened. Exiting 0 before that would leave clients half-open.
    startup
      .then((handle) => handle.stop())
      .then(() => {
        logger.info("stopped");
        process.exit(0);
      })
      .catch((error: unknown) => {
        if (abandoned(error)) {
          logger.info("stopped before start-up finished");
          process.exit(0);
        }
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
    // The shutdown under way reports and exits.
    if (abandoned(error)) return;
    logger.fatal({ err: error }, "start-up failed");
    process.exit(1);
  });
}
