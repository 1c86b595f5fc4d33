// A window's part from one partition, and how parts become the window. Every part's sketches are
// seeded from (version, window, partition, feature) and parts merge in partition order into a
// window seeded from (version, window, feature): the same records give the same statistics whether
// one monitor held every partition, several held some each, or a part was rebuilt after a crash.
// A part crosses processes as a JSON snapshot; restoring it gives back exactly the part it was.
import { StreamscoreError } from "../../shared/errors.ts";
import { createWindow, restoreWindow, type WindowAccumulator, type WindowSnapshot } from "../drift/streaming.ts";
import type { WindowState } from "./evaluation.ts";
import type { VersionReference } from "./reference.ts";

export interface PartSnapshot {
  size: number;
  features: Record<string, WindowSnapshot>;
}

/** 32-bit FNV-1a of a text: a stable seed for a sketch's coin flips. */
export function seedOf(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash;
}

function seededState(reference: VersionReference, seedText: (feature: string) => string): WindowState {
  return {
    reference,
    accumulators: new Map(
      [...reference.profiles].map(([name, profile]) => [name, createWindow(profile, { seed: seedOf(seedText(name)) })]),
    ),
    size: 0,
  };
}

/** An empty part of window `start` for one partition. */
export function openPart(reference: VersionReference, start: number, partition: string): WindowState {
  return seededState(reference, (feature) => `${reference.version}/${start}/${partition}/${feature}`);
}

export function snapshotPart(state: WindowState): PartSnapshot {
  const features: Record<string, WindowSnapshot> = {};
  for (const [name, accumulator] of state.accumulators) features[name] = accumulator.snapshot();
  return { size: state.size, features };
}

export function restorePart(reference: VersionReference, snapshot: PartSnapshot): WindowState {
  const accumulators = new Map<string, WindowAccumulator>();
  for (const [name, profile] of reference.profiles) {
    const feature = snapshot.features[name];
    if (!feature) throw new StreamscoreError("DRIFT_INPUT_INVALID", `a stored window part lacks feature ${name}`);
    accumulators.set(name, restoreWindow(profile, feature));
  }
  return { reference, accumulators, size: snapshot.size };
}

/** The window from its parts, given in partition order. */
export function mergeParts(reference: VersionReference, start: number, parts: readonly WindowState[]): WindowState {
  const merged = seededState(reference, (feature) => `${reference.version}/${start}/${feature}`);
  for (const part of parts) {
    merged.size += part.size;
    for (const [name, accumulator] of merged.accumulators) {
      const other = part.accumulators.get(name);
      if (other) (accumulator.merge as (o: WindowAccumulator) => void)(other);
    }
  }
  return merged;
}
