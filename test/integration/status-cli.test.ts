// `npm run cli -- status` against the real stack: every part up, a service that answers /readyz
// shown ready, the last closed window's drift verdicts and the table rows read from a ClickHouse
// database of the test's own (migrated as production is, with two drift rows in it).
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { loadStackConfig } from "../../infra/local/config.ts";
import { type ClickHouse, createClickHouse } from "../../services/shared/clickhouse/client.ts";
import { migrate } from "../../services/shared/clickhouse/migrations.ts";
import { createRegistry } from "../../services/shared/metrics.ts";
import { buildOpsServer } from "../../services/shared/ops-routes.ts";
import { testConnectionConfig, uniqueName } from "../helpers/integration.ts";
import { runScript } from "../helpers/run-script.ts";

// Prometheus comes only with the local stack.
const localStack = inject("endpoints").source === "local-stack";

describe("npm run cli -- status", () => {
  const connection = testConnectionConfig();
  const database = uniqueName("streamscore_status");
  const pipeline = uniqueName("t-status").replace(/_/g, "-").toLowerCase();
  let clickhouse: ClickHouse;
  const ops = buildOpsServer(createRegistry("transformer"), { notReadyReason: () => undefined });
  let opsUrl = "";

  beforeAll(async () => {
    clickhouse = createClickHouse(connection);
    await migrate(clickhouse, database);
    const row = (feature: string, statistic: string, value: number, threshold: number, drifted: number) => ({
      pipeline,
      model_name: "payments-fraud",
      model_version: 1,
      window_start: "2026-12-07 10:00:00",
      window_end: "2026-12-07 10:05:00",
      feature,
      feature_type: "numeric",
      statistic,
      value,
      threshold,
      drifted,
      sample_size: 600,
      reference_size: 10_000,
      computed_at: "2026-12-07 10:06:00",
    });
    await clickhouse.insertRows(`${database}.drift_metrics`, [
      row("amount", "drift:psi", 0.42, 0.2, 1),
      row("country", "drift:psi", 0.03, 0.2, 0),
    ]);
    await ops.listen({ host: "127.0.0.1", port: 0 });
    opsUrl = `http://127.0.0.1:${(ops.server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await ops.close();
    await clickhouse?.command(`DROP DATABASE IF EXISTS ${database}`).catch(() => undefined);
    await clickhouse?.close();
  });

  it.skipIf(!localStack)("prints the stack as healthy, with drift verdicts and rows, and exits 0", async () => {
    const prometheus = `http://127.0.0.1:${loadStackConfig().STACK_PROMETHEUS_PORT}`;
    const run = await runScript(
      "services/producer/cli.ts",
      ["status", "--prometheus", prometheus, "--service", `transformer=${opsUrl}`, "--timeout", "10"],
      {
        KAFKA_BROKERS: connection.KAFKA_BROKERS.join(","),
        SCHEMA_REGISTRY_URL: connection.SCHEMA_REGISTRY_URL,
        CLICKHOUSE_URL: connection.CLICKHOUSE_URL,
        CLICKHOUSE_USER: connection.CLICKHOUSE_USER,
        CLICKHOUSE_PASSWORD: connection.CLICKHOUSE_PASSWORD,
        CLICKHOUSE_DATABASE: database,
      },
    );
    const text = run.out;
    expect(run.code, `${text}\n${run.err}`).toBe(0);
    for (const part of ["Kafka", "Registry", "ClickHouse", "Prometheus"]) {
      expect(text, text).toMatch(new RegExp(`^ {2}up {4}${part} `, "m"));
    }
    expect(text).not.toContain("DOWN");
    expect(text).toMatch(new RegExp(`ok\\s+transformer\\s+${opsUrl.replace(/[.:/]/g, "\\$&")}\\s+ready`));
    expect(text).toContain(`${pipeline} model v1, window 10:00–10:05 UTC: 1 of 2 features drifted`);
    expect(text).toContain("DRIFTED amount (psi 0.42, threshold 0.2)");
    expect(text).toMatch(/^ {2}drift_metrics\s+2$/m);
    expect(text).toMatch(/^ {2}predictions\s+0$/m);
    // Each section came back with data or a verdict, none as unreachable.
    expect(text).not.toContain("unavailable:");
  });
});
