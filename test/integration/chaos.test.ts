// The chaos harness's short run: its own broker and ClickHouse, 2 transformers, 2 inference
// instances, a monitor and the ingest API as processes; one kill -9 each of a transformer, an
// inference instance and the monitor, and one ClickHouse kill while an insert runs, as 20,000 events are sent.
// Everything accepted must reach ClickHouse exactly once, in order per key, with no aborted reads.
// Then the broker down for 60 s: no service may exit, each must say it is not ready meanwhile.
import { rmSync } from "node:fs";
import { afterAll, describe, expect, inject, it } from "vitest";
import { loadStackConfig } from "../../infra/local/config.ts";
import { chaosDir, formatRun, notReadyWithin, runChaos } from "../chaos/run.ts";
import { scenarios } from "../chaos/schedule.ts";
import { uniqueName } from "../helpers/integration.ts";

const endpoints = inject("endpoints");
// The harness runs the broker and ClickHouse from the local stack's binaries; with servers from
// the environment or containers those are not installed.
const localStack = endpoints.source === "local-stack";

describe("chaos: short run (kill -9 of each consumer service, a ClickHouse kill)", () => {
  const dir = chaosDir(loadStackConfig().STACK_DIR, uniqueName("test"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it.skipIf(!localStack)(
    "loses nothing, stores nothing twice, keeps order per key and reads nothing aborted (needs the local stack's binaries)",
    async () => {
      const scenario = scenarios.short;
      if (!scenario) throw new Error("the short scenario is missing");
      const result = await runChaos({
        scenario,
        seed: 1,
        dir,
        drainTimeoutMs: 120_000,
        log: (line) => console.log(line),
      });
      console.log(formatRun(result));
      const { report } = result;
      expect(result.faults.map((f) => `${f.kind} ${f.target}`).sort()).toEqual([
        "clickhouse-kill-mid-insert clickhouse",
        "kill inference-1",
        "kill monitor",
        "kill transformer-1",
      ]);
      expect(report.sent.accepted).toBe(20_000);
      expect(report.sent.bad).toBeGreaterThan(0);
      expect({
        lost: report.lost.slice(0, 5),
        duplicated: report.duplicated.slice(0, 5),
        outOfOrder: report.outOfOrder.slice(0, 5),
        abortedReads: report.abortedReads.slice(0, 5),
        unexpected: report.unexpected.slice(0, 5),
      }).toEqual({ lost: [], duplicated: [], outOfOrder: [], abortedReads: [], unexpected: [] });
      expect(result.drainSeconds).toBeDefined();
      // Every process was sampled, and none went over its memory cap.
      expect(result.memory.map((m) => m.process).sort()).toEqual([
        "clickhouse",
        "inference-1",
        "inference-2",
        "kafka",
        "monitor",
        "producer",
        "transformer-1",
        "transformer-2",
      ]);
      expect(result.memory.filter((m) => m.peakMiB > m.capMiB)).toEqual([]);
      expect(report.ok).toBe(true);
    },
    420_000,
  );
});

describe("chaos: the broker down for 60 s (kill -9, kept down, started again)", () => {
  const dir = chaosDir(loadStackConfig().STACK_DIR, uniqueName("test-outage"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it.skipIf(!localStack)(
    "no service exits, each reports not ready while the broker is away and resumes by itself, nothing is lost (needs the local stack's binaries)",
    async () => {
      const scenario = scenarios["broker-outage"];
      if (!scenario) throw new Error("the broker-outage scenario is missing");
      const result = await runChaos({ scenario, seed: 1, dir, log: (line) => console.log(line) });
      console.log(formatRun(result));
      const [outage] = result.faults;
      expect(outage?.kind).toBe("broker-hard");
      expect((outage?.recoveredAt ?? 0) - (outage?.at ?? 0)).toBeGreaterThanOrEqual(60_000);
      expect(result.crashes).toEqual([]);
      expect(result.unrecovered).toEqual([]);
      const consumers = ["transformer-1", "transformer-2", "inference-1", "inference-2", "monitor"];
      for (const instance of consumers) {
        // Not ready at some time while the broker was away, and ready again at the end.
        expect(notReadyWithin(result, instance, outage?.at ?? 0, outage?.recoveredAt ?? 0), instance).not.toEqual([]);
        expect(result.readiness.filter((c) => c.instance === instance).at(-1)?.ready, instance).toBe(true);
      }
      const { report } = result;
      expect(report.sent.accepted).toBe(20_000);
      expect({ lost: report.lost.slice(0, 5), duplicated: report.duplicated.slice(0, 5) }).toEqual({
        lost: [],
        duplicated: [],
      });
      expect(report.ok).toBe(true);
    },
    600_000,
  );
});
