// One trainer at a time per model folder: a lock file holding who took it. It is created
// atomically with its content (written aside, then hard-linked into place, which fails if the lock
// exists), so a second run never sees a half-written lock. A lock left by a trainer that died
// without cleaning up (kill -9, a power cut) names a process that no longer runs on this host; the
// next run takes it over instead of waiting for a person to delete it.
import { randomBytes } from "node:crypto";
import { linkSync, readFileSync, renameSync, unlinkSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { StreamscoreError } from "../../services/shared/errors.ts";

export interface LockHolder {
  pid: number;
  host: string;
  pipeline: string;
  startedAt: string;
  /** Tells this run's lock from a later one that happens to reuse the pid. */
  token: string;
}

export interface HeldLock {
  readonly path: string;
  readonly holder: LockHolder;
  /** Removes the lock if it is still this run's; safe to call more than once. */
  release(): void;
}

function errno(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException | undefined)?.code;
}

/** Whether a process with this pid runs on this host (EPERM: it runs as another user). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return errno(error) === "EPERM";
  }
}

function readHolder(path: string): LockHolder | "gone" | undefined {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    if (errno(error) === "ENOENT") return "gone";
    throw error;
  }
  try {
    const parsed = JSON.parse(text) as Partial<LockHolder>;
    return typeof parsed.pid === "number" && typeof parsed.host === "string" ? (parsed as LockHolder) : undefined;
  } catch {
    return undefined;
  }
}

function tryCreate(path: string, holder: LockHolder): boolean {
  const aside = `${path}.${holder.token}`;
  writeFileSync(aside, `${JSON.stringify(holder)}\n`);
  try {
    linkSync(aside, path);
    return true;
  } catch (error) {
    if (errno(error) === "EEXIST") return false;
    throw error;
  } finally {
    unlinkSync(aside);
  }
}

function held(path: string, holder: LockHolder | undefined): never {
  const who = holder
    ? `pid ${holder.pid} on ${holder.host}, ${holder.pipeline}, since ${holder.startedAt}`
    : "its lock file cannot be read";
  throw new StreamscoreError(
    "REQUEST_INVALID",
    `another retrain of this model folder is running (${who}); lock file ${path} (delete it only if no trainer runs)`,
  );
}

export function acquireLock(
  path: string,
  pipeline: string,
  options: { isAlive?: (pid: number) => boolean; now?: () => number } = {},
): HeldLock {
  const isAlive = options.isAlive ?? processAlive;
  const holder: LockHolder = {
    pid: process.pid,
    host: hostname(),
    pipeline,
    startedAt: new Date((options.now ?? Date.now)()).toISOString(),
    token: randomBytes(8).toString("hex"),
  };
  // Two attempts: the second follows a lock that vanished or a stale one moved aside.
  for (let attempt = 0; attempt < 2; attempt += 1) {
    if (tryCreate(path, holder)) {
      let released = false;
      return {
        path,
        holder,
        release() {
          if (released) return;
          released = true;
          const current = readHolder(path);
          if (current !== "gone" && current?.token === holder.token) unlinkSync(path);
        },
      };
    }
    const current = readHolder(path);
    if (current === "gone") continue;
    if (!current || current.host !== holder.host || isAlive(current.pid)) held(path, current);
    // Stale: move it aside under a name only this run knows, so of two runs that both saw it stale
    // only one removes it; if what was moved is not the stale lock (a third run took over in
    // between), it goes back and this run refuses.
    const aside = `${path}.stale-${holder.token}`;
    try {
      renameSync(path, aside);
    } catch (error) {
      if (errno(error) === "ENOENT") continue;
      throw error;
    }
    const moved = readHolder(aside);
    if (moved !== "gone" && moved?.token === current.token) {
      unlinkSync(aside);
      continue;
    }
    try {
      linkSync(aside, path);
    } finally {
      unlinkSync(aside);
    }
    held(path, moved === "gone" ? undefined : moved);
  }
  throw new StreamscoreError("REQUEST_INVALID", `the lock file ${path} kept changing while this run tried to take it`);
}
