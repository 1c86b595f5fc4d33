import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { acquireLock, processAlive } from "../../../tools/models/retrain-lock.ts";

const dirs: string[] = [];
function lockPath(): string {
  const dir = mkdtempSync(join(tmpdir(), "retrain-lock-"));
  dirs.push(dir);
  return join(dir, ".retrain.lock");
}
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** The pid of a process that has exited (as a trainer killed with -9 leaves it). */
function deadPid(): number {
  const child = spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"]);
  return Number(child.stdout.toString());
}

describe("retrain lock", () => {
  it("lets one run hold it, refuses a second naming the first, and is free again after release", () => {
    const path = lockPath();
    const first = acquireLock(path, "payments");
    const written = JSON.parse(readFileSync(path, "utf8"));
    expect(written).toMatchObject({ pid: process.pid, host: hostname(), pipeline: "payments" });
    expect(() => acquireLock(path, "payments")).toThrow(
      new RegExp(`another retrain of this model folder is running \\(pid ${process.pid} on .*, payments, since`),
    );
    first.release();
    expect(existsSync(path)).toBe(false);
    first.release();
    const second = acquireLock(path, "payments");
    expect(existsSync(path)).toBe(true);
    second.release();
    // Nothing is left beside it (the files written aside before linking).
    expect(readdirSync(join(path, ".."))).toEqual([]);
  });

  it("takes over a lock whose process no longer runs on this host", () => {
    const path = lockPath();
    const pid = deadPid();
    expect(processAlive(pid)).toBe(false);
    writeFileSync(
      path,
      JSON.stringify({ pid, host: hostname(), pipeline: "payments", startedAt: "2026-01-01T00:00:00Z", token: "old" }),
    );
    const lock = acquireLock(path, "payments");
    expect(JSON.parse(readFileSync(path, "utf8")).pid).toBe(process.pid);
    lock.release();
    expect(readdirSync(join(path, ".."))).toEqual([]);
  });

  it("refuses a lock from another host or one it cannot read, whatever the pid", () => {
    const path = lockPath();
    writeFileSync(
      path,
      JSON.stringify({
        pid: deadPid(),
        host: "other-host",
        pipeline: "p",
        startedAt: "2026-01-01T00:00:00Z",
        token: "t",
      }),
    );
    expect(() => acquireLock(path, "payments")).toThrow(/on other-host, p, since/);
    writeFileSync(path, "");
    expect(() => acquireLock(path, "payments")).toThrow(/its lock file cannot be read/);
    expect(readFileSync(path, "utf8")).toBe("");
  });

  it("does not remove a lock another run took after this one's was taken over", () => {
    const path = lockPath();
    const mine = acquireLock(path, "payments");
    // Another run found this lock stale (as after a pid reuse check on another clock) and replaced it.
    rmSync(path);
    const theirs = acquireLock(path, "payments", { isAlive: () => false });
    mine.release();
    expect(existsSync(path)).toBe(true);
    theirs.release();
    expect(existsSync(path)).toBe(false);
  });

  it("treats the holder as alive when the check says so", () => {
    const path = lockPath();
    acquireLock(path, "payments");
    expect(() => acquireLock(path, "payments", { isAlive: () => true })).toThrow(/another retrain/);
    // A stale verdict on this host lets the next run in.
    const next = acquireLock(path, "payments", { isAlive: () => false });
    next.release();
  });
});
