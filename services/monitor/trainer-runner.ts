// The closed loop's second step, when configured (MONITOR_RETRAIN_COMMAND): once the retraining
// policy has written `retrain-requested`, the monitor starts the trainer as a child process with
// `--pipeline <p> --json`, at most one at a time per pipeline (the trainer's own lock file guards
// against a trainer started by hand too). What the trainer decides (a candidate in shadow, or
// rejected) is on the model log; its report and any refusal land in the monitor's log.
import { type ChildProcess, spawn } from "node:child_process";
import { describeError } from "../shared/errors.ts";
import type { Logger } from "../shared/logger.ts";

export interface TrainerRunner {
  /** Starts the trainer for `pipeline` unless one runs already; returns whether it started. */
  request(pipeline: string, reason: string): boolean;
  running(pipeline: string): boolean;
  /** Stops running trainers (SIGTERM, then SIGKILL after `graceMs`) and waits for them. */
  stop(graceMs?: number): Promise<void>;
}

const tailBytes = 2048;

/** A command line as arguments: words split on white space (no shell, so nothing is interpreted). */
export function parseCommand(text: string): string[] {
  return text.trim().split(/\s+/).filter(Boolean);
}

export function createTrainerRunner(deps: {
  command: readonly string[];
  cwd: string;
  logger: Logger;
  /** The `--pipeline` argument for a pipeline: its PIPELINES entry (`name=definition` for a renamed one). */
  pipelineArgument?: (pipeline: string) => string;
}): TrainerRunner {
  const log = deps.logger.child({ module: "trainer-runner" });
  const children = new Map<string, { child: ChildProcess; exited: Promise<void> }>();
  const [program, ...baseArgs] = deps.command;
  if (program === undefined) throw new Error("MONITOR_RETRAIN_COMMAND is empty");

  return {
    request(pipeline, reason) {
      if (children.has(pipeline)) {
        log.info({ pipeline, reason }, "a trainer already runs for this pipeline; this request adds nothing");
        return false;
      }
      const argument = deps.pipelineArgument?.(pipeline) ?? pipeline;
      const child = spawn(program, [...baseArgs, "--pipeline", argument, "--json"], {
        cwd: deps.cwd,
        stdio: ["ignore", "pipe", "pipe"],
      });
      let stdout = "";
      let stderr = "";
      child.stdout?.on("data", (chunk: Buffer) => {
        stdout = (stdout + chunk.toString("utf8")).slice(-tailBytes * 8);
      });
      child.stderr?.on("data", (chunk: Buffer) => {
        stderr = (stderr + chunk.toString("utf8")).slice(-tailBytes);
      });
      const startedAt = Date.now();
      const exited = new Promise<void>((resolve) => {
        const finish = (code: number | null, signal: NodeJS.Signals | null, error?: unknown) => {
          children.delete(pipeline);
          const seconds = (Date.now() - startedAt) / 1000;
          const report = lastJsonLine(stdout);
          if (code === 0) log.warn({ pipeline, seconds, report }, "trainer finished");
          else
            log.error(
              {
                pipeline,
                seconds,
                code,
                signal,
                error: error ? describeError(error) : undefined,
                stderr: stderr.trim(),
              },
              "trainer refused or failed",
            );
          resolve();
        };
        child.once("error", (error) => finish(null, null, error));
        child.once("exit", (code, signal) => finish(code, signal));
      });
      children.set(pipeline, { child, exited });
      log.warn({ pipeline, reason, command: deps.command }, "retraining requested: trainer started");
      return true;
    },
    running: (pipeline) => children.has(pipeline),
    async stop(graceMs = 10_000) {
      await Promise.all(
        [...children.values()].map(async ({ child, exited }) => {
          child.kill("SIGTERM");
          const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
          await exited;
          clearTimeout(timer);
        }),
      );
    },
  };
}

function lastJsonLine(text: string): unknown {
  const lines = text.trim().split("\n").reverse();
  for (const line of lines) {
    if (!line.startsWith("{")) continue;
    try {
      return JSON.parse(line);
    } catch {
      return undefined;
    }
  }
  return undefined;
}
