// Kill -9 the transformer mid-stream and start it again: nothing is lost or stored twice, and the
// per-card rolling features still equal those computed from the full history.
import type { ChildProcess } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type PaymentEventRecord, paymentStream } from "../../services/producer/generator/payments.ts";
import { featureNames } from "../../services/shared/pipeline/definition.ts";
import { cleanRecord } from "../../services/transformer/cleaning.ts";
import {
  addEvent,
  type EntityState,
  emptyEntityState,
  stateRetention,
} from "../../services/transformer/entity-state.ts";
import { computeFeatures } from "../../services/transformer/features.ts";
import { waitFor } from "../helpers/integration.ts";
import { type PipelineHarness, startPipelineHarness } from "../helpers/pipeline-harness.ts";
import { freePort } from "../helpers/ports.ts";
import { startServiceProcess } from "../helpers/service-process.ts";

describe("transformer killed with SIGKILL, then stopped with SIGTERM, mid-stream", () => {
  let h: PipelineHarness;
  let child: ChildProcess | undefined;

  async function startTransformer(): Promise<ChildProcess> {
    const port = await freePort();
    return startServiceProcess("transformer", port, {
      PIPELINES: `${h.definition.name}=payments`,
      KAFKA_BROKERS: h.config.KAFKA_BROKERS.join(","),
      SCHEMA_REGISTRY_URL: h.config.SCHEMA_REGISTRY_URL,
      TRANSFORMER_PORT: String(port),
      TRANSFORMER_MAX_BATCH: "200",
      PERSONAL_DATA_KEY: h.personalDataKey.toString("hex"),
      LOG_LEVEL: "warn",
    });
  }

  beforeAll(async () => {
    h = await startPipelineHarness({ base: "payments", services: ["producer", "inference", "monitor"] });
  });
  afterAll(async () => {
    child?.kill("SIGKILL");
    await h?.stop();
  });

  it("loses nothing, stores nothing twice, and keeps rolling features correct", async () => {
    const total = 6000;
    const sent: PaymentEventRecord[] = [];
    // Few cards, so every card has a long history across the kill.
    const stream = paymentStream({
      seed: 21,
      startTime: Date.now() - total * 500,
      ratePerSecond: 2,
      cards: 40,
      idPrefix: "k21",
    });
    for (const { event } of stream) {
      sent.push(event);
      if (sent.length === total) break;
    }
    const table = `${h.database}.predictions`;
    const where = `pipeline = '${h.definition.name}'`;
    const stored = async () => {
      const [row] = await h.clickhouse.query<{ n: string }>(`SELECT count() AS n FROM ${table} FINAL WHERE ${where}`);
      return Number(row?.n ?? 0);
    };

    child = await startTransformer();
    // One request at a time keeps each card's events in order on its partition.
    for (let i = 0; i < total / 2; i += 200) await h.client.publish(h.definition.name, sent.slice(i, i + 200));
    await waitFor(
      "some events scored before the kill",
      async () => ((await stored()) >= 1000 ? true : undefined),
      60_000,
    );
    child.kill("SIGKILL");
    await new Promise((resolve) => child?.once("exit", resolve));
    for (let i = total / 2; i < total; i += 200) await h.client.publish(h.definition.name, sent.slice(i, i + 200));
    child = await startTransformer();
    // A clean stop mid-stream too: SIGTERM finishes the transaction in flight and exits 0 in bound.
    const stopping = child;
    const exited = new Promise<number | null>((resolve) => stopping.once("exit", (code) => resolve(code)));
    stopping.kill("SIGTERM");
    const stoppedAt = Date.now();
    expect(await exited).toBe(0);
    expect(Date.now() - stoppedAt).toBeLessThan(20_000);
    child = await startTransformer();
    await waitFor("every event scored", async () => ((await stored()) >= total ? true : undefined), 180_000);

    const [counts] = await h.clickhouse.query<{ n: string; ids: string }>(
      `SELECT count() AS n, uniqExact(event_id) AS ids FROM ${table} WHERE ${where}`,
    );
    expect(Number(counts?.ids)).toBe(total);
    expect(Number(counts?.n)).toBe(total);

    // Expected features: the whole history replayed through the same pure code, in send order.
    const definition = h.definition;
    const retention = stateRetention(definition);
    const states = new Map<string, EntityState>();
    const expected = new Map<string, number[]>();
    for (const event of sent) {
      const cleaned = cleanRecord(definition.cleaning, definition.eventTime, { ...event }, Date.now());
      if (!cleaned.ok) throw new Error(`generated event rejected: ${cleaned.field} ${cleaned.reason}`);
      const state = states.get(event.card_id) ?? emptyEntityState(retention);
      states.set(event.card_id, state);
      addEvent(state, retention, event.event_id, event.event_time, cleaned.record);
      expected.set(event.event_id, computeFeatures(definition, cleaned.record, state));
    }
    const rows = await h.clickhouse.query<{ event_id: string; feature_values: number[] }>(
      `SELECT event_id, feature_values FROM ${table} WHERE ${where}`,
    );
    // ClickHouse 18.16 parses Float64 from JSON text to within an ulp, so compare relatively.
    const differs = (got: number, want: number) => Math.abs(got - want) > 1e-12 * Math.max(1, Math.abs(want));
    const names = featureNames(definition);
    const problems: string[] = [];
    for (const row of rows) {
      const want = expected.get(row.event_id) ?? [];
      const bad = names.filter((_, i) => differs(row.feature_values[i] ?? Number.NaN, want[i] ?? Number.NaN));
      if (bad.length > 0) {
        problems.push(
          `${row.event_id}: ${bad.map((n) => `${n} ${row.feature_values[names.indexOf(n)]} != ${want[names.indexOf(n)]}`).join(", ")}`,
        );
      }
    }
    expect({ mismatches: problems.length, first: problems.slice(0, 5) }).toEqual({ mismatches: 0, first: [] });
    // The rolling features are the point of this test: make sure they were not trivially small.
    const countIndex = names.indexOf("card_txn_count_1h");
    expect(Math.max(...rows.map((r) => r.feature_values[countIndex] ?? 0))).toBeGreaterThan(5);
  });
});
