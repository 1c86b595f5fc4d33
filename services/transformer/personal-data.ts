// Personal fields of a raw event (as the pipeline definition marks them) are hashed or dropped
// right after cleaning, before state, features, logs or dead letters see them. Hashing is a keyed
// HMAC-SHA256 (the first 128 bits, hex): the same value always gives the same pseudonym, so
// per-entity state and partitioning by key keep working, while without the key a pseudonym cannot
// be reversed by hashing every possible card number. Pure apart from the hash.
import { createHmac, createSecretKey, type KeyObject } from "node:crypto";
import { StreamscoreError } from "../shared/errors.ts";
import type { PipelineDefinition } from "../shared/pipeline/definition.ts";
import type { RawRecord } from "./cleaning.ts";

export interface PersonalData {
  /** True when the pipeline marks any field as personal. */
  readonly active: boolean;
  /** True when the entity key (and so the Kafka key of raw records) is hashed. */
  readonly hashesKey: boolean;
  /** Hashes and drops the personal fields of a cleaned record, in place. */
  protect(record: RawRecord): void;
  pseudonym(value: string): string;
}

/** The pseudonym of `value` under `key`: HMAC-SHA256, first 16 bytes as hex. */
export function pseudonymize(key: KeyObject, value: string): string {
  return createHmac("sha256", key).update(value).digest().toString("hex", 0, 16);
}

export function createPersonalData(
  definition: Pick<PipelineDefinition, "name" | "personal" | "entityKey">,
  secret: string | Buffer | undefined,
): PersonalData {
  const entries = Object.entries(definition.personal);
  const hashed = entries.filter(([, action]) => action === "hash").map(([field]) => field);
  const dropped = entries.filter(([, action]) => action === "drop").map(([field]) => field);
  if (hashed.length > 0 && (secret === undefined || secret.length === 0)) {
    throw new StreamscoreError(
      "CONFIG_INVALID",
      `invalid configuration:\n  PERSONAL_DATA_KEY_FILE: is required, pipeline "${definition.name}" hashes ${hashed.join(", ")}`,
    );
  }
  const key = hashed.length > 0 ? createSecretKey(Buffer.from(secret as string | Buffer)) : undefined;
  const pseudonym = (value: string): string => pseudonymize(key as KeyObject, value);
  return {
    active: entries.length > 0,
    hashesKey: hashed.includes(definition.entityKey),
    pseudonym,
    protect(record) {
      for (const field of hashed) {
        const value = record[field];
        if (value !== null && value !== undefined) record[field] = pseudonym(String(value));
      }
      for (const field of dropped) record[field] = null;
    },
  };
}
