// Types of common.js for the TypeScript tests that import it.
import type { PayloadEvent } from "./payloads.js";

export interface Settings {
  baseUrl: string;
  pipeline: string;
  eventsUrl: string;
  rate: number;
  batch: number;
  duration: string;
  rampUp: string;
  rampDown: string;
  maxVUs: number;
  preAllocatedVUs: number;
  seed: number;
  timeFormat: string;
  p95Ms: number;
  p99Ms: number;
  summaryDir: string;
  runId: string;
}

export interface ResponseLike {
  status: number;
  body: string | null;
}

export interface K6Deps {
  http: {
    post(
      url: string,
      body: string,
      params: { headers: Record<string, string>; tags: Record<string, string> },
    ): ResponseLike;
  };
  check(value: ResponseLike, checks: Record<string, (r: ResponseLike) => boolean>): boolean;
  sent: { add(value: number): void };
  accepted: { add(value: number): void };
}

export interface SummaryData {
  state?: { testRunDurationMs?: number };
  metrics: Record<string, { values: Record<string, number>; thresholds?: Record<string, { ok: boolean }> }>;
}

export const bounds: { maxRate: number; maxVUs: number; maxDurationSeconds: number; maxBatch: number };
export const summaryTrendStats: string[];
export function durationSeconds(text: string | number): number;
export function readSettings(env: Record<string, string | undefined>, defaults?: Partial<Settings>): Settings;
export function prepareRun(
  http: { get(url: string, params?: { tags: Record<string, string> }): ResponseLike },
  settings: Settings,
): { runId: string };
export function acceptedCount(response: ResponseLike): number;
export function postEvents(
  k6: K6Deps,
  settings: Settings,
  events: readonly PayloadEvent[],
  format: "object" | "json" | "ndjson",
): ResponseLike;
export function summarize(data: SummaryData, script: string, settings: Settings): Record<string, string>;
