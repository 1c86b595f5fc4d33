// The peers the inference stage is measured against, on the same broker, records, model file and
// batch size: PEER-1, the Python scorer a user would write (confluent-kafka, fastavro, onnxruntime,
// exactly once through send_offsets_to_transaction), at the stage's transaction size and at its
// natural size of one transaction per poll; PEER-2, the same job as a Quix Streams app with
// exactly-once. Each run: a fresh pipeline whose features topic is pre-loaded with the stage's
// records, the peer as a child process until it has committed them all, then its scored topic read
// read-committed and checked: every record once, each score equal to streamscore's own. CPU: the
// peer's own (user + system of all its threads, from its first record on) and the broker's over
// the peer's whole run, per 1,000 events.
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, openSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { loadStackConfig } from "../../infra/local/config.ts";
import { createAvroCodec } from "../../services/shared/kafka/avro-codec.ts";
import { chunksOf, sendChunks } from "../../services/shared/kafka/bulk.ts";
import type { Message } from "../../services/shared/kafka/client.ts";
import { readTopicToEnd } from "../../services/shared/kafka/read-to-end.ts";
import { encodeWireFormat } from "../../services/shared/kafka/wire-format.ts";
import { pipelineTopics } from "../../services/shared/pipeline/definition.ts";
import { type ScoredRecord, scoredSchema } from "../../services/shared/pipeline/records.ts";
import { projectRoot } from "../../services/shared/project.ts";
import { type BenchEnvironment, createBenchPipeline } from "./environment.ts";
import { processCpuSeconds } from "./processes.ts";
import { ratePerSecond, type Summary, summarize } from "./stats.ts";

export const peerNames = ["PEER-1 python", "PEER-1 python per poll", "PEER-2 quix"] as const;
export type PeerName = (typeof peerNames)[number];

export interface PeerResult {
  rate: Summary;
  /** The peer's own CPU-s per 1,000 events. */
  cpuPerThousand: Summary;
  /** The broker's CPU-s per 1,000 events while the peer ran (undefined without a local broker). */
  brokerCpuPerThousand?: Summary;
  /** Records per transaction the peer committed, on average. */
  recordsPerTransaction?: number;
}

export interface PeerOptions {
  runs: number;
  records: number;
  /** Records per produce request when pre-loading. */
  batch: number;
  inferenceBatch: number;
  /** The inference stage's records per transaction, which PEER-1 uses too. */
  transactionRecords: number;
  log: (line: string) => void;
}

interface PeerReport {
  firstAt: number;
  lastAt: number;
  cpuSeconds: number;
  transactions?: number;
}

/** The peers' venv (made once by setup.sh, from pinned PyPI wheels); its python. */
function peerPython(): string {
  const setup = spawnSync("bash", [join(projectRoot, "load-tests", "peers", "setup.sh")], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "inherit"],
  });
  if (setup.status !== 0) throw new Error(`load-tests/peers/setup.sh exited ${setup.status}`);
  return setup.stdout.trim().split("\n").at(-1) ?? "";
}

function brokerPid(): number | undefined {
  const file = join(loadStackConfig().STACK_DIR, "run", "kafka.pid");
  const pid = existsSync(file) ? Number(readFileSync(file, "utf8").trim()) : Number.NaN;
  return Number.isInteger(pid) && existsSync(`/proc/${pid}`) ? pid : undefined;
}

function runPeer(python: string, script: string, args: string[], logFile: string, timeoutMs: number) {
  return new Promise<PeerReport>((resolve, reject) => {
    const log = openSync(logFile, "a");
    const child = spawn(python, [join(projectRoot, "load-tests", "peers", script), ...args], {
      stdio: ["ignore", "pipe", log],
    });
    let out = "";
    child.stdout?.on("data", (chunk: Buffer) => {
      out += chunk.toString();
    });
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.once("error", reject);
    child.once("exit", (code, signal) => {
      clearTimeout(timer);
      const line = out.trim().split("\n").at(-1) ?? "";
      if (code !== 0 || !line.startsWith("{")) {
        reject(new Error(`${script} exited ${code ?? signal}; its log: ${logFile}`));
      } else {
        resolve(JSON.parse(line) as PeerReport);
      }
    });
  });
}

/** Every input record scored once with streamscore's own score, or the first problem found. */
async function verifyOutput(
  env: BenchEnvironment,
  topic: string,
  expected: ReadonlyMap<string, number>,
): Promise<string | undefined> {
  const codec = createAvroCodec(env.registry.resolve);
  const values: Buffer[] = [];
  await readTopicToEnd(env.kafka, topic, (_partition, message) => {
    if (message.value) values.push(message.value);
  });
  await codec.prepare(values);
  const seen = new Set<string>();
  for (const value of values) {
    const record = codec.decode(value).record as ScoredRecord;
    const score = expected.get(record.event_id);
    if (score === undefined) return `scored an event that was not sent: ${record.event_id}`;
    if (seen.has(record.event_id)) return `scored ${record.event_id} twice`;
    if (Math.abs(record.score - score) > 1e-6)
      return `${record.event_id}: score ${record.score}, streamscore's ${score}`;
    seen.add(record.event_id);
  }
  return seen.size === expected.size ? undefined : `scored ${seen.size} of ${expected.size} events`;
}

export async function measurePeers(
  env: BenchEnvironment,
  features: readonly Message[],
  reference: readonly ScoredRecord[],
  options: PeerOptions,
): Promise<Partial<Record<PeerName, PeerResult>>> {
  const python = peerPython();
  const dir = join(loadStackConfig().STACK_DIR, "bench-peers");
  mkdirSync(dir, { recursive: true });
  const schemaFile = join(dir, "scored-event.avsc");
  writeFileSync(schemaFile, JSON.stringify(scoredSchema()));
  if (options.records > features.length) throw new Error(`only ${features.length} feature records`);
  const expected = new Map(reference.slice(0, options.records).map((r) => [r.event_id, r.score]));

  async function oneRun(
    peer: PeerName,
    run: number,
  ): Promise<{ rate: number; cpu: number; broker?: number; txns?: number }> {
    const pipeline = await createBenchPipeline(env);
    try {
      const name = pipeline.definition.name;
      const topics = pipelineTopics(name);
      const messages = features
        .slice(0, options.records)
        .map((m) => ({ key: m.key, value: encodeWireFormat(pipeline.ids.features, (m.value as Buffer).subarray(5)) }));
      await sendChunks(env.kafka, topics.features, chunksOf(messages, options.batch));
      const common = [
        ...["--brokers", env.config.KAFKA_BROKERS.join(","), "--registry", env.config.SCHEMA_REGISTRY_URL],
        ...["--input", topics.features, "--output", topics.scored, "--group", `peer-${name}`],
        ...["--model-dir", join(projectRoot, pipeline.definition.model.directory, "1"), "--pipeline", name],
        ...["--scored-schema", schemaFile, "--expect", String(options.records)],
      ];
      const args =
        peer === "PEER-2 quix"
          ? [...common, "--state-dir", join(dir, `state-${name}`)]
          : [
              ...common,
              ...["--transactional-id", `peer-${name}`, "--scored-schema-id", String(pipeline.ids.scored)],
              ...["--batch", String(options.inferenceBatch)],
              ...["--txn-records", peer === "PEER-1 python" ? String(options.transactionRecords) : "0"],
            ];
      const broker = brokerPid();
      const brokerAt = broker === undefined ? undefined : processCpuSeconds(broker);
      const script = peer === "PEER-2 quix" ? "quix_scorer.py" : "python_scorer.py";
      const report = await runPeer(python, script, args, join(dir, `${name}.log`), 600_000);
      const brokerSeconds =
        broker === undefined || brokerAt === undefined ? undefined : processCpuSeconds(broker) - brokerAt;
      const problem = await verifyOutput(env, topics.scored, expected);
      if (problem) throw new Error(`${peer} run ${run}: ${problem}`);
      const perThousand = (seconds: number) => seconds / (options.records / 1000);
      return {
        rate: ratePerSecond(options.records, (report.lastAt - report.firstAt) / 1000),
        cpu: perThousand(report.cpuSeconds),
        broker: brokerSeconds === undefined ? undefined : perThousand(brokerSeconds),
        txns: report.transactions,
      };
    } finally {
      await pipeline.delete();
    }
  }

  const results: Partial<Record<PeerName, PeerResult>> = {};
  for (const peer of peerNames) {
    await oneRun(peer, 0);
    const runs = [];
    for (let run = 1; run <= options.runs; run += 1) {
      const r = await oneRun(peer, run);
      runs.push(r);
      options.log(
        `  ${peer} run ${run}: ${Math.round(r.rate)} events/s, ${r.cpu.toFixed(3)} CPU-s/1k, broker ${r.broker?.toFixed(3) ?? "n/a"} CPU-s/1k`,
      );
    }
    const brokers = runs.flatMap((r) => (r.broker === undefined ? [] : [r.broker]));
    const txns = runs.flatMap((r) => (r.txns === undefined ? [] : [r.txns]));
    results[peer] = {
      rate: summarize(runs.map((r) => r.rate)),
      cpuPerThousand: summarize(runs.map((r) => r.cpu)),
      brokerCpuPerThousand: brokers.length === runs.length ? summarize(brokers) : undefined,
      recordsPerTransaction:
        txns.length === runs.length ? (options.records * runs.length) / txns.reduce((a, b) => a + b, 0) : undefined,
    };
  }
  return results;
}
