// Who may look: with CONSOLE_API_KEYS_FILE set, every page and API call needs a key of the
// `console` scope for its pipeline (the ingest keys' store and mechanism). Scripts send it as
// `Authorization: Bearer <key>` or `X-API-Key`; a browser signs in once at /login and carries it in
// an HttpOnly, SameSite=Strict cookie. Unset, the console is open, on loopback only.
import type { FastifyReply, FastifyRequest } from "fastify";
import { authenticate, type KeyStore, presentedKey } from "../shared/auth/api-keys.ts";
import type { Logger } from "../shared/logger.ts";

export const sessionCookie = "streamscore_console";

/** The pipelines a presented key lists (its id is the key's second part), to check a page about none. */
function listedPipelines(store: KeyStore, key: string | undefined): string[] {
  const id = /^ssk_([0-9a-f]{8})_/.exec(key ?? "")?.[1];
  return store.keys.find((k) => k.id === id)?.pipelines ?? [];
}

export interface ConsoleAccess {
  /** Undefined when the request may see `pipeline` (or any pipeline, when undefined); else the refusal sent. */
  check(request: FastifyRequest, reply: FastifyReply, pipeline: string | undefined): FastifyReply | undefined;
  /** Validates a key typed into the sign-in form: the reason it is refused, or undefined. */
  refusal(key: string): string | undefined;
  readonly required: boolean;
}

export function createConsoleAccess(keys: (() => KeyStore) | undefined, logger: Logger): ConsoleAccess {
  const log = logger.child({ module: "console-access" });
  const keyOf = (request: FastifyRequest) =>
    presentedKey(request.headers) ?? (request.cookies?.[sessionCookie] || undefined);
  return {
    required: keys !== undefined,
    check(request, reply, pipeline) {
      if (!keys) return undefined;
      const store = keys();
      const key = keyOf(request);
      // Any pipeline the key lists will do for pages that are not about one pipeline.
      const target = pipeline ?? listedPipelines(store, key)[0] ?? "*";
      const result = authenticate(store, key, target, "console");
      if (result.ok) return undefined;
      log.warn(
        { url: request.url, status: result.status, reason: result.reason, keyId: result.keyId },
        "console refused a caller",
      );
      const wantsPage = !request.url.startsWith("/api/") && request.method === "GET";
      if (wantsPage && result.status === 401) return reply.redirect(`/login?next=${encodeURIComponent(request.url)}`);
      return reply.code(result.status).send({ error: result.reason });
    },
    refusal(key) {
      if (!keys) return undefined;
      const store = keys();
      const result = authenticate(store, key, listedPipelines(store, key)[0] ?? "*", "console");
      if (!result.ok)
        log.warn({ status: result.status, reason: result.reason, keyId: result.keyId }, "console sign-in refused");
      return result.ok ? undefined : result.reason;
    },
  };
}
