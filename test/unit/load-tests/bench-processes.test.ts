// The bench reads the service processes' CPU time from /proc; checked against Node's own count.
import { describe, expect, it } from "vitest";
import { processCpuSeconds } from "../../../load-tests/bench/processes.ts";

describe("per-process CPU time", () => {
  it("reads utime + stime of a process as Node's process.cpuUsage() counts them", () => {
    // Use some CPU first, so both counts are well above zero.
    let x = 0;
    for (let i = 0; i < 30_000_000; i += 1) x = (x + i) % 7919;
    expect(x).toBeGreaterThanOrEqual(0);
    const before = process.cpuUsage();
    const read = processCpuSeconds(process.pid);
    const after = process.cpuUsage();
    expect(read).toBeGreaterThan(0.05);
    // /proc counts in clock ticks (10 ms), so allow a few of them.
    expect(read).toBeGreaterThanOrEqual((before.user + before.system) / 1e6 - 0.05);
    expect(read).toBeLessThanOrEqual((after.user + after.system) / 1e6 + 0.05);
  });
});
