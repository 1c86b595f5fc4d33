// Retrying a step whose failure may be passing (a store or broker away for a while): exponential
// backoff from 200 ms up to a cap, for as long as the error is retriable.
import { setTimeout as sleep } from "node:timers/promises";
import { isStreamscoreError } from "./errors.ts";

export interface RetryOptions {
  /** Longest wait between attempts. */
  maxBackoffMs: number;
  /** Whether to go on after this error (default: it is a retriable StreamscoreError). */
  shouldRetry?: (error: unknown) => boolean;
  /** Before each wait: the error and how long the wait will be. */
  onRetry?: (error: unknown, backoffMs: number) => void;
}

export const isRetriable = (error: unknown): boolean => isStreamscoreError(error) && error.retriable;

/** Runs `attempt` until it succeeds; `retry` is true from the second attempt on. */
export async function withBackoff<T>(attempt: (retry: boolean) => Promise<T>, options: RetryOptions): Promise<T> {
  const shouldRetry = options.shouldRetry ?? isRetriable;
  for (let backoff = 200, retry = false; ; backoff = Math.min(backoff * 2, options.maxBackoffMs), retry = true) {
    try {
      return await attempt(retry);
    } catch (error) {
      if (!shouldRetry(error)) throw error;
      options.onRetry?.(error, backoff);
      await sleep(backoff);
    }
  }
}
