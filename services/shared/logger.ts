// One root pino logger per process; modules take children of it.
import { type Logger, pino } from "pino";

export type { Logger };

export function createLogger(options: { name: string; level: string }): Logger {
  return pino({
    name: options.name,
    level: options.level,
    base: { service: options.name },
    timestamp: pino.stdTimeFunctions.isoTime,
    // Secrets must never reach a log line, whatever object a caller passes.
    redact: {
      paths: ["password", "*.password", "apiKey", "*.apiKey", "authorization", "*.authorization"],
      censor: "[redacted]",
    },
  });
}
