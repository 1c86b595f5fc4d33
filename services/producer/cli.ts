// `npm run cli -- <command>`: publish events, tail any pipeline topic decoded, run a generator.
import { existsSync, readFileSync } from "node:fs";
import { Command, InvalidArgumentError } from "commander";
import { createKey, type KeyScope, keyScopes } from "../shared/auth/api-keys.ts";
import { readKeyStore, writeKeyStore } from "../shared/auth/key-store-file.ts";
import { loadConnectionConfig } from "../shared/connection-settings.ts";
import { createAvroCodec, parseAvroSchema } from "../shared/kafka/avro-codec.ts";
import { createIdempotentProducer, createKafka } from "../shared/kafka/client.ts";
import { createSchemaRegistry } from "../shared/kafka/registry.ts";
import { tailTopic } from "../shared/kafka/tail.ts";
import { createLogger } from "../shared/logger.ts";
import { pipelineTopics } from "../shared/pipeline/definition.ts";
import { readSchema } from "../shared/schemas.ts";
import { defaultPorts } from "../shared/services.ts";
import { parseNdjsonBody } from "./body.ts";
import { type GeneratorRun, type LabelRecord, parseDrift, runGenerator } from "./generator/run.ts";
import { createIngestClient } from "./sdk.ts";

function positive(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError("must be a positive number");
  return n;
}

function scopeList(value: string): KeyScope[] {
  const scopes = value.split(",").map((s) => s.trim());
  const unknown = scopes.filter((s) => !(keyScopes as readonly string[]).includes(s));
  if (unknown.length > 0)
    throw new InvalidArgumentError(`unknown scope ${unknown.join(", ")}; known: ${keyScopes.join(", ")}`);
  return scopes as KeyScope[];
}

function share(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0 || n > 1) throw new InvalidArgumentError("must be between 0 and 1");
  return n;
}

function services() {
  const config = loadConnectionConfig();
  const logger = createLogger({ name: "cli", level: "error" });
  return { config, logger, kafka: createKafka(config, logger, "cli"), registry: createSchemaRegistry(config) };
}

async function labelPublisher(pipeline: string) {
  const { kafka, registry } = services();
  const topic = pipelineTopics(pipeline).labels;
  const schema = readSchema("label-event.avsc");
  const schemaId = await registry.register(`${topic}-value`, schema);
  const type = parseAvroSchema(schema);
  const codec = createAvroCodec(registry.resolve);
  const producer = createIdempotentProducer(kafka);
  await producer.connect();
  return {
    publish: async (labels: LabelRecord[]) => {
      await producer.send({
        topic,
        acks: -1,
        messages: labels.map((l) => ({ key: l.event_id, value: codec.encode(schemaId, type, l) })),
      });
    },
    close: () => producer.disconnect(),
  };
}

const program = new Command("streamscore").description("Publish events, tail topics, generate traffic");
program.option("--url <url>", "ingest API", `http://127.0.0.1:${defaultPorts.producer}`);

program
  .command("publish")
  .description("publish events (NDJSON or a JSON array) from a file or stdin through the ingest API")
  .requiredOption("-p, --pipeline <name>", "pipeline")
  .option("-f, --file <path>", "file to read (default: stdin)")
  .action(async (options: { pipeline: string; file?: string }) => {
    const text = readFileSync(options.file ?? 0, "utf8");
    const trimmed = text.trim();
    const parsed = trimmed.startsWith("[")
      ? { ok: true as const, events: JSON.parse(trimmed) as unknown[] }
      : parseNdjsonBody(text);
    if (!parsed.ok) throw new Error(parsed.message);
    const client = createIngestClient({ baseUrl: program.opts<{ url: string }>().url });
    const response = await client.publish(options.pipeline, parsed.events as object[]);
    for (const result of response.results) console.log(JSON.stringify(result));
    console.error(`accepted ${response.accepted}, rejected ${response.rejected}`);
    process.exitCode = response.rejected > 0 ? 1 : 0;
  });

program
  .command("tail")
  .description("print a topic's records as JSON lines, decoded with the schema registry")
  .argument("<topic>", "e.g. payments.scored")
  .option("-b, --from-beginning", "start at the oldest record instead of the newest")
  .option("-g, --group <id>", "consume as this consumer group (offsets are committed)")
  .option("-n, --max <count>", "stop after this many records", positive)
  .option("-t, --timeout <seconds>", "stop after this long", positive)
  .action(
    async (topic: string, options: { fromBeginning?: boolean; group?: string; max?: number; timeout?: number }) => {
      const { kafka, registry } = services();
      const codec = createAvroCodec(registry.resolve);
      let seen = 0;
      const until = new Promise<void>((resolve) => {
        process.once("SIGINT", () => resolve());
      });
      await tailTopic(kafka, {
        topic,
        groupId: options.group,
        fromBeginning: options.fromBeginning ?? false,
        until,
        timeoutMs: options.timeout ? options.timeout * 1000 : undefined,
        onBatch: async (partition, messages) => {
          await codec.prepare(messages.map((m) => m.value));
          for (const message of messages) {
            if (options.max !== undefined && seen >= options.max) break;
            let value: unknown;
            try {
              value = codec.decode(message.value).record;
            } catch {
              value = { undecodable: message.value?.toString("base64") ?? null };
            }
            const headers = Object.fromEntries(Object.entries(message.headers ?? {}).map(([k, v]) => [k, String(v)]));
            console.log(
              JSON.stringify({
                partition,
                offset: message.offset,
                key: message.key?.toString(),
                value,
                ...(Object.keys(headers).length > 0 ? { headers } : {}),
              }),
            );
            seen += 1;
          }
          return options.max !== undefined && seen >= options.max;
        },
      });
    },
  );

program
  .command("generate")
  .description("send seeded synthetic events to the ingest API at a rate, for a bounded time")
  .requiredOption("-p, --pipeline <name>", "payments or iris")
  .option("-r, --rate <events/s>", "events sent per second", positive, 100)
  .option(
    "-e, --event-rate <events/s>",
    "events per second of event time (lower replays history faster than real time)",
    positive,
  )
  .option("-s, --seconds <n>", "how long", positive, 30)
  .option("--seed <n>", "random seed", positive, 1)
  .option("-l, --label-rate <share>", "share of events whose label is published to <pipeline>.labels", share, 0)
  .option("-d, --drift <spec>", "field:mean-shift|scale|new-category:value@seconds, e.g. amount:mean-shift:150@30")
  .action(
    async (options: {
      pipeline: string;
      rate: number;
      eventRate?: number;
      seconds: number;
      seed: number;
      labelRate: number;
      drift?: string;
    }) => {
      if (options.pipeline !== "payments" && options.pipeline !== "iris")
        throw new Error("--pipeline must be payments or iris");
      const client = createIngestClient({ baseUrl: program.opts<{ url: string }>().url });
      const labels = options.labelRate > 0 ? await labelPublisher(options.pipeline) : undefined;
      const run: GeneratorRun = {
        pipeline: options.pipeline,
        ratePerSecond: options.rate,
        eventRatePerSecond: options.eventRate,
        seconds: options.seconds,
        seed: options.seed,
        labelRate: options.labelRate,
      };
      const wallStart = Date.now();
      if (options.drift) run.drift = parseDrift(options.drift, run, wallStart);
      const result = await runGenerator(client, run, labels?.publish, wallStart);
      await labels?.close();
      console.log(JSON.stringify(result));
    },
  );

const keys = program.command("keys").description("manage API keys (the file holds only hashes)");

keys
  .command("create")
  .description("create a key, add its hash to the file and print the key once")
  .requiredOption("-f, --file <path>", "key store file (INGEST_API_KEYS_FILE)")
  .requiredOption("-n, --name <name>", "who the key is for")
  .option("-p, --pipelines <list>", "comma-separated pipelines, or *", "*")
  .option("-r, --rate <events/s>", "events per second allowed", positive, 1000)
  .option("-s, --scopes <list>", `comma-separated, of: ${keyScopes.join(", ")}`, scopeList, ["publish"])
  .action((options: { file: string; name: string; pipelines: string; rate: number; scopes: KeyScope[] }) => {
    const store = existsSync(options.file) ? readKeyStore(options.file) : { keys: [] };
    const { key, entry } = createKey({
      name: options.name,
      pipelines: options.pipelines.split(",").map((p) => p.trim()),
      ratePerSecond: options.rate,
      scopes: options.scopes,
    });
    writeKeyStore(options.file, { keys: [...store.keys, entry] });
    console.error(`created key ${entry.id} for ${entry.name}; it is shown only now:`);
    console.log(key);
  });

keys
  .command("revoke")
  .description("revoke a key by id (takes effect within a second, without a restart)")
  .requiredOption("-f, --file <path>", "key store file")
  .argument("<id>", "the key id (the 8 hex digits after ssk_)")
  .action((id: string, options: { file: string }) => {
    const store = readKeyStore(options.file);
    if (!store.keys.some((k) => k.id === id)) throw new Error(`no key ${id} in ${options.file}`);
    writeKeyStore(options.file, { keys: store.keys.map((k) => (k.id === id ? { ...k, revoked: true } : k)) });
    console.error(`revoked ${id}`);
  });

program.parseAsync().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : String(error));
  process.exit(1);
});
