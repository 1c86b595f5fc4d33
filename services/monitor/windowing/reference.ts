// The reference a model version's live windows are compared with: built once per version from the
// training rows in its reference-sample.json, with the feature types from its manifest.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { readManifest } from "../../shared/model/manifest.ts";
import { buildReferenceProfile, type ReferenceProfile } from "../drift/streaming.ts";

export const predictionFeature = "prediction";

export interface VersionReference {
  modelName: string;
  version: number;
  /** Monitored name → profile; includes "prediction". */
  profiles: Map<string, ReferenceProfile>;
  /** Monitored name → column in the scored record's features (-1 for the prediction). */
  columns: Map<string, number>;
}

interface ReferenceSample {
  featureOrder: string[];
  rows: number[][];
  predictions: Array<number | string>;
}

export function loadVersionReference(
  versionDir: string,
  featureNames: readonly string[],
  monitored: readonly string[],
  bins: number,
): VersionReference {
  const manifest = readManifest(versionDir);
  const sample = JSON.parse(readFileSync(join(versionDir, "reference-sample.json"), "utf8")) as ReferenceSample;
  const profiles = new Map<string, ReferenceProfile>();
  const columns = new Map<string, number>();
  for (const name of monitored.length > 0 ? monitored : featureNames) {
    const sampleColumn = sample.featureOrder.indexOf(name);
    const column = featureNames.indexOf(name);
    if (sampleColumn === -1 || column === -1) throw new Error(`monitored feature ${name} is not a model input`);
    const values = sample.rows.map((row) => row[sampleColumn] as number);
    const categorical = manifest.profile.features[name]?.type === "categorical";
    profiles.set(
      name,
      categorical
        ? buildReferenceProfile(values.map(String), { type: "categorical" })
        : buildReferenceProfile(values, { bins }),
    );
    columns.set(name, column);
  }
  const categoricalPrediction = manifest.profile.prediction.type === "categorical";
  profiles.set(
    predictionFeature,
    categoricalPrediction
      ? buildReferenceProfile(sample.predictions.map(String), { type: "categorical" })
      : buildReferenceProfile(sample.predictions.map(Number), { bins }),
  );
  columns.set(predictionFeature, -1);
  return { modelName: manifest.name, version: manifest.version, profiles, columns };
}
