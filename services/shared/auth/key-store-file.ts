// The API key store as a JSON file, re-read when it changes, so a revoked key stops working
// without a restart. A file that does not parse keeps the last good store and is reported.
import { readFileSync, statSync, writeFileSync } from "node:fs";
import { StreamscoreError } from "../errors.ts";
import { type KeyStore, keyStoreSchema } from "./api-keys.ts";

export function readKeyStore(path: string): KeyStore {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, "utf8"));
  } catch (error) {
    throw new StreamscoreError("CONFIG_INVALID", `cannot read API keys from ${path}: ${(error as Error).message}`);
  }
  const parsed = keyStoreSchema.safeParse(raw);
  if (!parsed.success) {
    throw new StreamscoreError(
      "CONFIG_INVALID",
      `${path} is invalid: ${parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`,
    );
  }
  return parsed.data;
}

export function writeKeyStore(path: string, store: KeyStore): void {
  writeFileSync(path, `${JSON.stringify(store, null, 2)}\n`, { mode: 0o600 });
}

/** Returns the current store, checking the file's modification time at most once a second. */
export function watchKeyStore(path: string, onError: (error: unknown) => void): () => KeyStore {
  let store = readKeyStore(path);
  let mtime = statSync(path).mtimeMs;
  let checkedAt = Date.now();
  return () => {
    const now = Date.now();
    if (now - checkedAt >= 1000) {
      checkedAt = now;
      try {
        const current = statSync(path).mtimeMs;
        if (current !== mtime) {
          store = readKeyStore(path);
          mtime = current;
        }
      } catch (error) {
        onError(error);
      }
    }
    return store;
  };
}
