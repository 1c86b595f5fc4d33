// Polling until a condition holds, for tools and tests that wait on real servers (never a fixed sleep).

import { setTimeout as sleep } from "node:timers/promises";

/** Polls until `condition` returns a value that is not undefined, or throws after `timeoutMs`. */
export async function waitUntil<T>(
  what: string,
  condition: () => Promise<T | undefined> | T | undefined,
  timeoutMs: number,
  pollMs = 50,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await condition();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(pollMs);
  }
}
