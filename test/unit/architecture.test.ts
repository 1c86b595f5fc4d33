// The layout's rules, read from the code itself: who may import whom, and where the Kafka protocol
// lives. A file that breaks one is named in the failure.
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const sources = execFileSync("git", ["ls-files", "*.ts"], { cwd: root, encoding: "utf8" })
  .split("\n")
  .filter((file) => file.length > 0);
const importPattern = /(?:from|import\()\s*["'](\.{1,2}\/[^"']+)["']/g;

/** Every relative import, as [importing file, imported file], both relative to the project root. */
const edges: Array<[string, string]> = sources.flatMap((file) =>
  [...readFileSync(join(root, file), "utf8").matchAll(importPattern)].map((match): [string, string] => [
    file,
    relative(root, resolve(root, dirname(file), match[1] as string)),
  ]),
);
const services = ["producer", "transformer", "inference", "monitor", "console"];
const room = (file: string) => file.split("/")[0] as string;
const serviceOf = (file: string) => (room(file) === "services" ? file.split("/")[1] : undefined);

describe("layout", () => {
  it("services/ holds the five services and their shared ground, nothing else", () => {
    const folders = new Set(sources.filter((f) => room(f) === "services").map((f) => serviceOf(f)));
    expect([...folders].sort()).toEqual([...services, "shared"].sort());
  });

  it("each service has main.ts, config.ts, metrics.ts, service.ts and README.md", () => {
    const missing = services.flatMap((service) =>
      ["main.ts", "config.ts", "metrics.ts", "service.ts", "README.md"]
        .map((piece) => `services/${service}/${piece}`)
        .filter((path) => !existsSync(join(root, path))),
    );
    expect(missing).toEqual([]);
  });

  it("a service imports only itself and shared/; shared/ imports no service", () => {
    const wrong = edges.filter(([from, to]) => {
      const source = serviceOf(from);
      if (source === undefined) return false;
      const target = serviceOf(to);
      if (room(to) !== "services") return true;
      return source === "shared" ? target !== "shared" : target !== source && target !== "shared";
    });
    expect(wrong).toEqual([]);
  });

  it("infra/ imports no test, tool or load-test code", () => {
    const wrong = edges.filter(
      ([from, to]) => room(from) === "infra" && ["test", "tools", "load-tests"].includes(room(to)),
    );
    expect(wrong).toEqual([]);
  });
});

describe("the Kafka protocol fence", () => {
  // Consumer, producer, transaction, offset and admin calls: the surface a change of Kafka client
  // has to replace, so it stays in one folder.
  const protocol =
    /\b(eachBatch|eachMessage|sendOffsets|commitOffsets|fetchOffsets|fetchTopicOffsets|sendBatch)\b|\.events\.[A-Z_]+|\.(transaction|admin|consumer|producer|subscribe)\(/;

  // Names in strings (a benchmark row called "Kafka consume (group, eachBatch)") are not calls.
  const code = (line: string) => line.trim().replace(/"(?:[^"\\]|\\.)*"/g, '""');

  it("only services/shared/kafka/ speaks it among the services, tools and benchmarks", () => {
    const offenders = sources
      .filter(
        (file) =>
          ["services", "tools", "load-tests"].includes(room(file)) && !file.startsWith("services/shared/kafka/"),
      )
      .flatMap((file) =>
        readFileSync(join(root, file), "utf8")
          .split("\n")
          .map((line, index) => ({ file, line: index + 1, text: code(line) }))
          .filter(({ text }) => protocol.test(text) && !text.startsWith("//") && !text.startsWith("*")),
      );
    expect(offenders).toEqual([]);
  });

  it("catches a protocol call outside the folder (the pattern is not blind)", () => {
    expect(protocol.test("await consumer.run({ eachBatch: async () => {} })")).toBe(true);
    expect(protocol.test("const admin = kafka.admin();")).toBe(true);
    expect(protocol.test("consumer.on(consumer.events.GROUP_JOIN, f)")).toBe(true);
    expect(protocol.test("await transaction.sendOffsets({})")).toBe(true);
    expect(protocol.test(code('raw("Kafka consume (group, eachBatch)", m.kafka.consume);'))).toBe(false);
  });
});
