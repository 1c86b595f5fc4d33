// A model version's ONNX bytes, read only after they match the manifest's checksum: a corrupt or
// replaced file must never be served.
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { StreamscoreError } from "../shared/errors.ts";
import { type ModelManifest, readManifest } from "../shared/model/manifest.ts";

export function readModelVersion(versionDir: string): { manifest: ModelManifest; modelBytes: Buffer } {
  const manifest = readManifest(versionDir);
  let modelBytes: Buffer;
  try {
    modelBytes = readFileSync(join(versionDir, manifest.file));
  } catch (error) {
    throw new StreamscoreError("MODEL_INVALID", `cannot read model file: ${(error as Error).message}`);
  }
  const digest = createHash("sha256").update(modelBytes).digest("hex");
  if (digest !== manifest.sha256) {
    throw new StreamscoreError(
      "MODEL_INVALID",
      `${manifest.file} does not match the manifest's sha256 (corrupt or replaced)`,
    );
  }
  return { manifest, modelBytes };
}
