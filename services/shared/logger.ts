// One root pino logger per process; modules take children of it.
import { type Logger, pino } from "pino";

export type { Logger };

/**
 * `toStderr` is for command-line tools whose stdout is their output (JSON a script reads): their
 * log lines go to stderr instead.
 */
export function createLogger(options: { name: string; level: string; toStderr?: boolean }): Logger {
  const settings = {
    name: options.name,
    level: options.level,
    base: { service: options.name },
    timestamp: pino.stdTimeFunctions.isoTime,
    // Secrets must never reach a log line, whatever object a caller passes.
    redact: {
      paths: ["password", "*.password", "apiKey", "*.apiKey", "authorization", "*.authorization"],
      censor: "[redacted]",
    },
  };
  return options.toStderr ? pino(settings, pino.destination(2)) : pino(settings);
}
