// The Avro schemas shipped in schemas/, read by file name.
import { readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const schemasDir = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..", "schemas");

export function readSchema(fileName: string): object {
  return JSON.parse(readFileSync(join(schemasDir, fileName), "utf8")) as object;
}
