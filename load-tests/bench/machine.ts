// What the numbers were measured on: the machine, Node, and the versions of the client libraries
// and of the ClickHouse server.
import { readFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import { join } from "node:path";
import { projectRoot } from "../../services/shared/project.ts";
import type { BenchEnvironment } from "./environment.ts";

function packageVersion(name: string): string {
  try {
    const text = readFileSync(join(projectRoot, "node_modules", name, "package.json"), "utf8");
    return (JSON.parse(text) as { version: string }).version;
  } catch {
    return "not installed";
  }
}

export async function describeMachine(env: BenchEnvironment): Promise<Record<string, string>> {
  const list = cpus();
  const [row] = await env.clickhouse.query<{ v: string }>("SELECT version() AS v");
  return {
    cpus: String(list.length),
    "cpu model": list[0]?.model ?? "unknown",
    memory: `${(totalmem() / 2 ** 30).toFixed(1)} GiB`,
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
    kafkajs: packageVersion("kafkajs"),
    "onnxruntime-node": packageVersion("onnxruntime-node"),
    "@clickhouse/client": packageVersion("@clickhouse/client"),
    avsc: packageVersion("avsc"),
    fastify: packageVersion("fastify"),
    "ClickHouse server": row?.v ?? "unknown",
    autocannon: packageVersion("autocannon"),
    "HTTP load client": `autocannon in a child process at saturation; Node fetch (undici ${process.versions.undici ?? "?"}) open loop for fixed-rate runs`,
  };
}
