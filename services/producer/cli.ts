// `npm run cli -- <command>`: publish events, tail any pipeline topic decoded, run a generator,
// replay dead letters, see the stack's status.
import { existsSync, readFileSync } from "node:fs";
import { Command, InvalidArgumentError } from "commander";
import { createKey, type KeyScope, keyScopes } from "../shared/auth/api-keys.ts";
import { readKeyStore, writeKeyStore } from "../shared/auth/key-store-file.ts";
import { loadConnectionConfig } from "../shared/connection-settings.ts";
import { createAvroCodec, parseAvroSchema } from "../shared/kafka/avro-codec.ts";
import { createIdempotentProducer, createKafka } from "../shared/kafka/client.ts";
import { replayDeadLetters } from "../shared/kafka/dead-letter-replay.ts";
import { createSchemaRegistry } from "../shared/kafka/registry.ts";
import { parseReplayRequest } from "../shared/kafka/replay-plan.ts";
import { tailTopic } from "../shared/kafka/tail.ts";
import { createLogger } from "../shared/logger.ts";
import { pipelineTopics } from "../shared/pipeline/definition.ts";
import { getPipeline } from "../shared/pipelines/index.ts";
import { createProgress } from "../shared/progress.ts";
import { readSchema } from "../shared/schemas.ts";
import { consolePort, defaultPorts, serviceNames } from "../shared/services.ts";
import { parseNdjsonBody } from "./body.ts";
import { type GeneratorRun, type LabelRecord, parseDrift, runGenerator } from "./generator/run.ts";
import { formatReplayReport } from "./replay-report.ts";
import { createIngestClient, type EventResult } from "./sdk.ts";
import { collectStatus, renderStatus, stackHealthy } from "./status.ts";

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

/** Events per request of `publish`: well under the ingest API's default limit (INGEST_MAX_EVENTS). */
const publishChunk = 1000;

function nonNegativeInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError("must be a whole number, 0 or more");
  return n;
}

function serviceUrl(value: string, previous: Record<string, string>): Record<string, string> {
  const [name, url] = value.split("=", 2);
  if (!name || !url) throw new InvalidArgumentError("must be name=url, e.g. producer=http://127.0.0.1:8080");
  return { ...previous, [name.trim()]: url.trim() };
}

function share(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0 || n > 1) throw new InvalidArgumentError("must be between 0 and 1");
  return n;
}

function services() {
  const config = loadConnectionConfig();
  const logger = createLogger({ name: "cli", level: "error", toStderr: true });
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
    const events = parsed.events as object[];
    if (events.length === 0) throw new Error("the input holds no events");
    const client = createIngestClient({ baseUrl: program.opts<{ url: string }>().url });
    // In requests of at most publishChunk events: under the API's per-request limit, and a bar that moves.
    const progress = createProgress({ label: "publish", total: events.length, unit: "events" });
    let accepted = 0;
    let rejected = 0;
    try {
      for (let start = 0; start < events.length; start += publishChunk) {
        const response = await client
          .publish(options.pipeline, events.slice(start, start + publishChunk))
          .catch((error: unknown) => {
            if (start === 0) throw error;
            // Earlier requests were answered: say which events are settled, so a rerun can skip them.
            throw new Error(
              `events ${start} and on were not published (${(error as Error).message}); events before ${start}: ${accepted} accepted, ${rejected} rejected`,
            );
          });
        for (const result of response.results) {
          console.log(JSON.stringify({ ...result, index: result.index + start } satisfies EventResult));
        }
        accepted += response.accepted;
        rejected += response.rejected;
        progress.add(response.results.length, rejected > 0 ? `${rejected} rejected` : "");
      }
    } finally {
      progress.stop();
    }
    console.error(`accepted ${accepted}, rejected ${rejected}`);
    process.exitCode = rejected > 0 ? 1 : 0;
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
  .option(
    "-d, --drift <spec>",
    "field:mean-shift|scale|new-category:value@seconds, e.g. amount:mean-shift:150@30, or label:concept:fuel-fraud@30",
  )
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
      const progress = createProgress({
        label: "generate",
        total: Math.round(options.rate * options.seconds),
        unit: "events",
      });
      run.onSettled = (events) => progress.add(events);
      let result: Awaited<ReturnType<typeof runGenerator>>;
      try {
        result = await runGenerator(client, run, labels?.publish, wallStart);
      } finally {
        progress.stop();
      }
      await labels?.close();
      console.log(JSON.stringify(result));
    },
  );

const dlq = program.command("dlq").description("the dead-letter topic of a pipeline (<pipeline>.dlq)");

dlq
  .command("replay")
  .description(
    "send dead letters back to the pipeline's raw topic after their cause is fixed (only those of the raw topic are replayable)",
  )
  .requiredOption("-p, --pipeline <name>", "pipeline, e.g. payments")
  .option("-c, --code <codes>", "only these error codes, comma-separated (e.g. SCHEMA_NOT_FOUND)")
  .option("-s, --since <time>", "only dead letters written since: ISO 8601 time, or a span back (30m, 2h, 1d)")
  .option("-n, --dry-run", "send nothing; report what would go back and whether it decodes now")
  .option(
    "-w, --wait <seconds>",
    "wait this long for the transformer to take them, then count new failures (0: no check)",
    nonNegativeInt,
    30,
  )
  .option("--json", "print the report as JSON")
  .action(
    async (options: {
      pipeline: string;
      code?: string;
      since?: string;
      dryRun?: boolean;
      wait: number;
      json?: boolean;
    }) => {
      const parsed = parseReplayRequest(
        {
          ...(options.code ? { code: options.code.split(",").map((c) => c.trim().toUpperCase()) } : {}),
          ...(options.since ? { since: options.since } : {}),
          dryRun: options.dryRun ?? false,
          waitSeconds: options.wait,
        },
        Date.now(),
      );
      if (!parsed.ok) {
        const flag = { code: "--code", since: "--since", waitSeconds: "--wait" }[parsed.field.split(".")[0] as string];
        throw new Error(`${flag ?? parsed.field}: ${parsed.message}`);
      }
      const definition = getPipeline(options.pipeline);
      const { kafka, registry } = services();
      const report = await replayDeadLetters(
        { kafka, registry, definition, reader: parseAvroSchema(readSchema(definition.schema)) },
        parsed.request,
      );
      console.log(options.json ? JSON.stringify(report, null, 2) : formatReplayReport(report));
      process.exitCode = report.stillFailing.count > 0 ? 1 : 0;
    },
  );

program
  .command("status")
  .description("the stack's health, each service's readiness, lag, drift, alerts and table rows on one screen")
  .option("--prometheus <url>", "Prometheus", "http://127.0.0.1:9090")
  .option(
    "--service <name=url>",
    "a service's base URL (repeatable; default 127.0.0.1 on each service's default port)",
    serviceUrl,
    {},
  )
  .option("-t, --timeout <seconds>", "how long each part may take to answer", positive, 3)
  .option("--json", "print the collected data as JSON")
  .action(async (options: { prometheus: string; service: Record<string, string>; timeout: number; json?: boolean }) => {
    const { config, kafka } = services();
    const defaults = [
      ...serviceNames.map((name) => ({ name, port: defaultPorts[name], optional: false })),
      { name: "console", port: consolePort, optional: true },
    ];
    const known = new Set(defaults.map((d) => d.name));
    const unknown = Object.keys(options.service).filter((name) => !known.has(name));
    if (unknown.length > 0)
      throw new Error(`--service: unknown service ${unknown.join(", ")}; known: ${[...known].join(", ")}`);
    const data = await collectStatus({
      config,
      kafka,
      prometheusUrl: options.prometheus,
      services: defaults.map((d) => ({
        name: d.name,
        url: options.service[d.name] ?? `http://127.0.0.1:${d.port}`,
        optional: d.optional,
      })),
      timeoutMs: options.timeout * 1000,
    });
    console.log(options.json ? JSON.stringify(data, null, 2) : renderStatus(data));
    process.exitCode = stackHealthy(data) ? 0 : 1;
  });

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
