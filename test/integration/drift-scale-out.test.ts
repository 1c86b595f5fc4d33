// Drift monitoring spread over two monitor processes on one pipeline, one of them killed with SIGKILL
// in the middle of a window: the drift rows equal those of one monitor that read the same scored
// records alone. The two processes share the scored topic's partitions (one consumer group); the
// single monitor runs in this process in a group and a ClickHouse database of its own.
import type { ChildProcess } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createMonitorMetrics } from "../../services/monitor/metrics.ts";
import { createMonitorService, type MonitorService } from "../../services/monitor/service.ts";
import { paymentStream } from "../../services/producer/generator/payments.ts";
import { migrate } from "../../services/shared/clickhouse/migrations.ts";
import { createLogger } from "../../services/shared/logger.ts";
import { createRegistry } from "../../services/shared/metrics.ts";
import { projectRoot } from "../../services/shared/project.ts";
import { uniqueName, waitFor } from "../helpers/integration.ts";
import { type PipelineHarness, startPipelineHarness } from "../helpers/pipeline-harness.ts";
import { freePort } from "../helpers/ports.ts";
import { startServiceProcess } from "../helpers/service-process.ts";

const windowMs = 300_000;
const eventsPerWindow = 600; // 2 events/s of event time
const windows = 6;

interface DriftRow {
  model_version: number;
  window_start: string;
  feature: string;
  statistic: string;
  value: number;
  drifted: number;
  sample_size: string;
  warm_up: number;
}

describe("drift monitoring over two monitor processes, one killed mid-window", () => {
  let h: PipelineHarness;
  let single: MonitorService | undefined;
  const singleDatabase = uniqueName("streamscore_single");
  const children = new Map<number, ChildProcess>();

  async function startMonitor(): Promise<{ child: ChildProcess; port: number }> {
    const port = await freePort();
    const child = await startServiceProcess("monitor", port, {
      PIPELINES: `${h.definition.name}=payments`,
      KAFKA_BROKERS: h.config.KAFKA_BROKERS.join(","),
      SCHEMA_REGISTRY_URL: h.config.SCHEMA_REGISTRY_URL,
      CLICKHOUSE_URL: h.config.CLICKHOUSE_URL,
      CLICKHOUSE_USER: h.config.CLICKHOUSE_USER,
      CLICKHOUSE_PASSWORD: h.config.CLICKHOUSE_PASSWORD,
      CLICKHOUSE_DATABASE: h.database,
      MONITOR_PORT: String(port),
      LOG_LEVEL: "warn",
    });
    children.set(child.pid as number, child);
    return { child, port };
  }

  const driftRows = (database: string) =>
    h.clickhouse.query<DriftRow>(
      `SELECT model_version, toString(toUInt64(window_start) * 1000) AS window_start, feature, statistic, value,
              drifted, toString(sample_size) AS sample_size, warm_up
       FROM ${database}.drift_metrics FINAL WHERE pipeline = '${h.definition.name}'
       ORDER BY model_version, window_start, feature, statistic`,
    );

  const storedCount = async (database: string) => {
    const [row] = await h.clickhouse.query<{ n: string }>(
      `SELECT count() AS n FROM ${database}.predictions FINAL WHERE pipeline = '${h.definition.name}'`,
    );
    return Number(row?.n ?? 0);
  };

  beforeAll(async () => {
    h = await startPipelineHarness({ base: "payments", services: ["producer", "transformer", "inference"] });
    await migrate(h.clickhouse, singleDatabase);
    single = createMonitorService({
      kafka: h.kafka,
      registry: h.registry,
      clickhouse: h.clickhouse,
      producer: h.producer,
      database: singleDatabase,
      logger: createLogger({ name: "single-monitor", level: "warn" }),
      metrics: createMonitorMetrics(createRegistry("single")),
      pipelines: [h.definition],
      maxBackoffMs: 1000,
      modelsRoot: projectRoot,
      quality: { intervalSeconds: 3600, lookbackHours: 24, labelTimeoutSeconds: 3600 },
      groupPrefix: uniqueName("single-monitor"),
    });
    await single.start();
  });

  afterAll(async () => {
    for (const child of children.values()) child.kill("SIGKILL");
    await single?.stop();
    await h?.clickhouse.command(`DROP DATABASE IF EXISTS ${singleDatabase}`).catch(() => undefined);
    await h?.stop();
  });

  it("stores the same drift rows as one monitor on the same records", async () => {
    const [a, b] = [await startMonitor(), await startMonitor()];
    const progress = () =>
      h.clickhouse.query<{ partition: number; owner: string; newest: string }>(
        `SELECT partition, owner, toString(max_event_time) AS newest FROM ${h.database}.drift_progress FINAL
         WHERE pipeline = '${h.definition.name}' AND role = 'decision' AND partition >= 0`,
      );
    // Both processes own partitions of the scored topic before any record arrives.
    await waitFor(
      "the scored topic's partitions spread over both monitor processes",
      async () => {
        const rows = await progress();
        const owners = new Set(rows.map((r) => r.owner));
        return rows.length === h.definition.partitions && owners.size === 2 ? rows : undefined;
      },
      90_000,
    );

    const start = Math.floor((Date.now() - 2 * 86_400_000) / windowMs) * windowMs;
    const events: object[] = [];
    for (const { event } of paymentStream({
      seed: 73,
      startTime: start,
      ratePerSecond: 2,
      idPrefix: uniqueName("s"),
    })) {
      if (event.event_time >= start + windows * windowMs) break;
      events.push(event);
    }
    expect(events.length).toBe(windows * eventsPerWindow);
    // The first part ends in the middle of the third window.
    const firstPart = Math.floor(2.5 * eventsPerWindow);
    // In order, one request at a time: each partition sees its events in event-time order.
    const publish = async (slice: object[]) => {
      for (let i = 0; i < slice.length; i += 500) {
        const response = await h.client.publish(h.definition.name, slice.slice(i, i + 500));
        expect(response.accepted).toBe(Math.min(500, slice.length - i));
      }
    };
    await publish(events.slice(0, firstPart));
    await waitFor(
      "the first part stored by both sides",
      async () =>
        (await storedCount(h.database)) === firstPart && (await storedCount(singleDatabase)) === firstPart
          ? true
          : undefined,
      120_000,
    );
    // Every partition's progress reaches into the third window: its part of that window is open in memory.
    await waitFor(
      "every partition's progress into the third window",
      async () => {
        const rows = await progress();
        return rows.every((r) => Number(r.newest) >= start + 2 * windowMs) ? rows : undefined;
      },
      60_000,
    );
    const [closerRow] = (await progress()).filter((r) => Number(r.partition) === 0);
    const closerPid = Number(closerRow?.owner.split("/").pop());
    const killed = children.get(closerPid);
    expect(killed, "the closer is one of the two processes").toBeDefined();
    const survivor = [a, b].find((m) => m.child.pid !== closerPid);
    const exited = new Promise((resolve) => killed?.once("exit", resolve));
    killed?.kill("SIGKILL");
    await exited;
    children.delete(closerPid);

    await publish(events.slice(firstPart));
    const expected = await waitFor(
      "the single monitor to close every window but the last",
      async () => {
        const rows = await driftRows(singleDatabase);
        return new Set(rows.map((r) => r.window_start)).size === windows - 1 ? rows : undefined;
      },
      180_000,
    );
    // The survivor takes the dead process's partitions after its session times out, rebuilds their
    // open parts from the stored predictions, and closes the windows as the new closer.
    const shared = await waitFor(
      "the two-process side to close the same windows",
      async () => {
        const rows = await driftRows(h.database);
        return new Set(rows.map((r) => r.window_start)).size === windows - 1 ? rows : undefined;
      },
      240_000,
    );
    expect(new Set(expected.map((r) => r.sample_size))).toEqual(new Set([String(eventsPerWindow)]));
    expect(shared).toEqual(expected);

    // The windows were closed from parts the two processes stored, by the survivor in the end.
    const [parts] = await h.clickhouse.query<{ n: string; partitions: string }>(
      `SELECT count() AS n, uniqExact(partition) AS partitions FROM ${h.database}.drift_parts FINAL
       WHERE pipeline = '${h.definition.name}'`,
    );
    expect(Number(parts?.n)).toBeGreaterThan(0);
    // The mark moves in the closer's step after the windows are stored: wait for it, not just the rows.
    const markOwner = async () => {
      const [mark] = await h.clickhouse.query<{ owner: string }>(
        `SELECT owner FROM ${h.database}.drift_progress FINAL
         WHERE pipeline = '${h.definition.name}' AND role = 'decision' AND partition = -1`,
      );
      return mark?.owner.split("/").pop();
    };
    await waitFor(
      "the closed-through mark written by the survivor",
      async () => ((await markOwner()) === String(survivor?.child.pid) ? true : undefined),
      30_000,
    ).catch(() => undefined);
    expect(await markOwner()).toBe(String(survivor?.child.pid));
    const metrics = await (await fetch(`http://127.0.0.1:${survivor?.port}/metrics`)).text();
    expect(metrics).not.toMatch(/streamscore_drift_late_events_total\{[^}]*\} [1-9]/);
    // It now holds every partition's windows and closes them.
    expect(metrics).toMatch(
      new RegExp(
        `streamscore_drift_partitions\\{pipeline="${h.definition.name}"[^}]*\\} ${h.definition.partitions}\\b`,
      ),
    );
    expect(metrics).toMatch(new RegExp(`streamscore_drift_closer\\{pipeline="${h.definition.name}"[^}]*\\} 1\\b`));
  });
});
