// Types of payloads.js for the TypeScript tests that import it.

export type PipelineName = "payments" | "iris";
export type TimeFormat = "epoch" | "iso" | "mixed";
export type BodyFormat = "json" | "ndjson";
export type PayloadEvent = Record<string, string | number | boolean | null>;

export interface EventSourceOptions {
  pipeline?: string;
  seed?: number;
  vu?: number;
  idPrefix?: string;
  timeFormat?: TimeFormat;
  maxLagMs?: number;
  now?: () => number;
  cards?: number;
  fraudBurstShare?: number;
}

export interface EventSource {
  pipeline: PipelineName;
  event(iteration: number): PayloadEvent;
  batch(size: number, iteration: number): PayloadEvent[];
}

export const pipelines: PipelineName[];
export const channels: string[];
export const merchantCategories: string[];
export const countries: string[];
export const irisClasses: string[];
export const contentTypes: Record<BodyFormat, string>;

export function seededRandom(seed: number): () => number;
export function gaussian(random: () => number): number;
export function weightedPick<T>(random: () => number, items: readonly T[], weights: readonly number[]): T;
export function mixSeed(seed: number, vu: number): number;
export function createEventSource(options?: EventSourceOptions): EventSource;
export function buildBatch(options?: EventSourceOptions & { size?: number; iteration?: number }): PayloadEvent[];
export function encodeBody(events: readonly PayloadEvent[], format?: BodyFormat): string;
