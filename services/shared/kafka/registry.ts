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

export function createSchemaRegistry(
  config: Pick<ConnectionConfig, "SCHEMA_REGISTRY_URL" | "SCHEMA_REGISTRY_USERNAME" | "SCHEMA_REGISTRY_PASSWORD">,
): SchemaRegistryClient {
  const auth =
    config.SCHEMA_REGISTRY_USERNAME && config.SCHEMA_REGISTRY_PASSWORD
      ? { username: config.SCHEMA_REGISTRY_USERNAME, password: config.SCHEMA_REGISTRY_PASSWORD }
      : undefined;
  const registry = new SchemaRegistry({ host: config.SCHEMA_REGISTRY_URL, auth, retry: { retries: 3 } });

  return {
    async register(subject, schema) {
      try {
        const attempt = () =>
          registry.register(
            { type: SchemaType.AVRO, schema: JSON.stringify(schema) },
            { subject, compatibility: COMPATIBILITY.BACKWARD },
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
    latestId: (subject) => registry.getLatestSchemaId(subject),
    async resolve(schemaId): Promise<AvroType> {
      let schema: unknown;
      try {
        schema = await registry.getSchema(schemaId);
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
