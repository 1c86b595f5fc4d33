// The Avro schemas shipped in schemas/, read by file name.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { projectRoot } from "./project.ts";

export const schemasDir = join(projectRoot, "schemas");

export function readSchema(fileName: string): object {
  return JSON.parse(readFileSync(join(schemasDir, fileName), "utf8")) as object;
}
