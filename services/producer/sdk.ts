// A typed client for the ingest API, for applications, the CLI, the demo and the tests.
// `publish` retries what may succeed later (timeouts, 408, 429, 5xx, network errors) with the same
// events, since event ids make a retry idempotent downstream; it honours Retry-After.
import { setTimeout as sleep } from "node:timers/promises";

export type EventResult =
  | { index: number; status: "accepted"; eventId: string }
  | { index: number; status: "rejected"; errors: Array<{ field: string; message: string }> };

export interface PublishResponse {
  status: number;
  accepted: number;
  rejected: number;
  results: EventResult[];
}

export class IngestError extends Error {
  readonly status: number;
  readonly code: string;
  constructor(status: number, code: string, message: string) {
    super(`${status} ${code}: ${message}`);
    this.status = status;
    this.code = code;
  }
}

/**
 * Answers worth sending the same events again for: no answer (0), the server timing the request out
 * (408, e.g. while it was too busy to read the body), refusals under load (429) and server errors.
 * The other 4xx say the request itself is wrong.
 */
export function isRetriableStatus(status: number): boolean {
  return status === 0 || status === 408 || status === 429 || status >= 500;
}

export interface IngestClientOptions {
  /** e.g. http://127.0.0.1:8080 */
  baseUrl: string;
  /** Attempts for retriable answers (see isRetriableStatus); 1 disables retries. */
  attempts?: number;
  timeoutMs?: number;
}

export function createIngestClient(options: IngestClientOptions) {
  const attempts = options.attempts ?? 5;

  async function once(pipeline: string, events: readonly object[]): Promise<PublishResponse> {
    const response = await fetch(`${options.baseUrl}/v1/pipelines/${encodeURIComponent(pipeline)}/events`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(events),
      signal: AbortSignal.timeout(options.timeoutMs ?? 30_000),
    });
    // A refusal may have no JSON body (Node's own 408 has none): its status still decides. An accepted
    // answer must be read whole; if it breaks off, the request counts as unanswered and is retried.
    const body = (await (response.ok
      ? response.json()
      : response.json().catch(() => ({})))) as Partial<PublishResponse> & {
      error?: string;
      message?: string;
    };
    if (response.status === 200 || response.status === 207 || (response.status === 400 && body.results)) {
      return {
        status: response.status,
        accepted: body.accepted ?? 0,
        rejected: body.rejected ?? 0,
        results: body.results ?? [],
      };
    }
    const error = new IngestError(response.status, body.error ?? "ERROR", body.message ?? response.statusText);
    (error as IngestError & { retryAfterSeconds?: number }).retryAfterSeconds = Number(
      response.headers.get("retry-after") ?? 1,
    );
    throw error;
  }

  return {
    /** Publishes events; resolves with per-event results once Kafka acknowledged the accepted ones. */
    async publish(pipeline: string, events: readonly object[]): Promise<PublishResponse> {
      for (let attempt = 1; ; attempt += 1) {
        try {
          return await once(pipeline, events);
        } catch (error) {
          const status = error instanceof IngestError ? error.status : 0;
          if (!isRetriableStatus(status) || attempt >= attempts) throw error;
          const wait = (error as { retryAfterSeconds?: number }).retryAfterSeconds ?? 2 ** attempt / 4;
          await sleep(Math.min(wait, 10) * 1000);
        }
      }
    },
  };
}

export type IngestClient = ReturnType<typeof createIngestClient>;
