// The schema-registry adapter: the only module that imports the registry client.

import { setTimeout as sleep } from "node:timers/promises";
import { COMPATIBILITY, SchemaRegistry, SchemaType } from "@kafkajs/confluent-schema-registry";
import avro from "avsc";
import type { ConnectionConfig } from "../connection-settings.ts";
import { describeError, StreamscoreError } from "../errors.ts";
import type { AvroType, SchemaResolver } from "./avro-codec.ts";

export interface SchemaRegistryClient {
  /** Registers (or finds) the schema under the subject with BACKWARD compatibility; returns its id. */
  register(subject: string, schema: object): Promise<number>;
  latestId(subject: string): Promise<number>;
  resolve: SchemaResolver;
}

const defaultRequestTimeoutMs = 10_000;
const attempts = 3;

class RegistryTimeout extends Error {}

/**
 * The registry client sets no request timeout, and a registry can drop a response (seen with
 * Apicurio under load): each call is bounded and tried again, which is safe because every call
 * here is idempotent (registering the same schema returns the same id).
 */
async function bounded<T>(what: string, call: () => Promise<T>, requestTimeoutMs: number): Promise<T> {
  for (let attempt = 1; ; attempt += 1) {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new RegistryTimeout(`${what}: no answer within ${requestTimeoutMs} ms`)),
        requestTimeoutMs,
      );
    });
    try {
      return await Promise.race([call(), timeout]);
    } catch (error) {
      if (!(error instanceof RegistryTimeout)) throw error;
      if (attempt >= attempts) {
        throw new StreamscoreError("SCHEMA_REGISTRY_UNAVAILABLE", `${error.message} (${attempts} attempts)`, {
          cause: error,
        });
      }
    } finally {
      clearTimeout(timer);
    }
  }
}

export function createSchemaRegistry(
  config: Pick<ConnectionConfig, "SCHEMA_REGISTRY_URL" | "SCHEMA_REGISTRY_USERNAME" | "SCHEMA_REGISTRY_PASSWORD">,
  options: { requestTimeoutMs?: number } = {},
): SchemaRegistryClient {
  const timeoutMs = options.requestTimeoutMs ?? defaultRequestTimeoutMs;
  const auth =
    config.SCHEMA_REGISTRY_USERNAME && config.SCHEMA_REGISTRY_PASSWORD
      ? { username: config.SCHEMA_REGISTRY_USERNAME, password: config.SCHEMA_REGISTRY_PASSWORD }
      : undefined;
  const registry = new SchemaRegistry({ host: config.SCHEMA_REGISTRY_URL, auth, retry: { retries: 3 } });

  return {
    async register(subject, schema) {
      try {
        const attempt = () =>
          bounded(
            `registering ${subject}`,
            () =>
              registry.register(
                { type: SchemaType.AVRO, schema: JSON.stringify(schema) },
                { subject, compatibility: COMPATIBILITY.BACKWARD },
              ),
            timeoutMs,
          );
        // Two services registering a new subject at once race on its compatibility rule: one may
        // see the subject before the other set BACKWARD ("BACKWARD != NONE"), or find the rule
        // already set when it tries to set it. Both settle within moments; retry briefly.
        for (let tries = 1; ; tries += 1) {
          try {
            return (await attempt()).id;
          } catch (error) {
            const racing = /rule named 'COMPATIBILITY' already exists|BACKWARD != NONE/.test(describeError(error));
            if (!racing || tries >= 20) throw error;
            await sleep(100 * tries);
          }
        }
      } catch (error) {
        // A schema the subject's BACKWARD rule refuses (HTTP 409) must never be retried or written.
        if ((error as { status?: number }).status === 409 || /incompatible/i.test(describeError(error))) {
          throw new StreamscoreError(
            "SCHEMA_INCOMPATIBLE",
            `the registry refused the schema for ${subject} as incompatible with its earlier versions (compatibility BACKWARD): ${describeError(error)}`,
            { cause: error },
          );
        }
        throw new StreamscoreError(
          "SCHEMA_REGISTRY_UNAVAILABLE",
          `registering ${subject} failed: ${describeError(error)}`,
          {
            cause: error,
            retriable: !/compatib/i.test(describeError(error)),
          },
        );
      }
    },
    latestId: (subject) => bounded(`looking up ${subject}`, () => registry.getLatestSchemaId(subject), timeoutMs),
    async resolve(schemaId): Promise<AvroType> {
      let schema: unknown;
      try {
        schema = await bounded(`looking up schema ${schemaId}`, () => registry.getSchema(schemaId), timeoutMs);
      } catch (error) {
        const status = (error as { status?: number }).status;
        if (status === 404) {
          throw new StreamscoreError("SCHEMA_NOT_FOUND", `schema id ${schemaId} is not in the registry`, {
            cause: error,
          });
        }
        throw new StreamscoreError(
          "SCHEMA_REGISTRY_UNAVAILABLE",
          `looking up schema ${schemaId} failed: ${describeError(error)}`,
          {
            cause: error,
          },
        );
      }
      if (!(schema instanceof avro.Type)) {
        throw new StreamscoreError("SCHEMA_NOT_FOUND", `schema id ${schemaId} is not an Avro schema`);
      }
      return schema;
    },
  };
}
