import { describe, expect, it } from "vitest";
import {
  type DriftRow,
  driftVerdicts,
  renderStatus,
  type StatusData,
  stackHealthy,
} from "../../../services/producer/status.ts";

const at = Date.parse("2026-12-07T10:15:30Z");
const windowStart = Date.parse("2026-12-07T10:05:00Z") / 1000;
const windowEnd = windowStart + 300;

function drift(feature: string, statistic: string, value: number, threshold: number, drifted: boolean): DriftRow {
  return {
    pipeline: "payments",
    modelVersion: 1,
    windowStart,
    windowEnd,
    feature,
    statistic,
    value,
    threshold,
    drifted,
  };
}

function healthy(): StatusData {
  return {
    at,
    stack: {
      kafka: { ok: true, value: { brokers: 1, topics: 18 }, where: "127.0.0.1:9092" },
      registry: { ok: true, value: { subjects: 12 }, where: "http://127.0.0.1:8085/apis/ccompat/v7" },
      clickhouse: { ok: true, value: { version: "18.16.1" }, where: "http://127.0.0.1:8123" },
      prometheus: { ok: true, value: {}, where: "http://127.0.0.1:9090" },
    },
    services: [
      { name: "producer", url: "http://127.0.0.1:8080", optional: false, state: { ok: true, value: { ready: true } } },
      {
        name: "transformer",
        url: "http://127.0.0.1:8082",
        optional: false,
        state: { ok: true, value: { ready: false, reason: "restoring state of payments.raw/1" } },
      },
      {
        name: "inference",
        url: "http://127.0.0.1:8081",
        optional: false,
        state: { ok: false, error: "fetch failed (connect ECONNREFUSED 127.0.0.1:8081)" },
      },
      { name: "console", url: "http://127.0.0.1:8084", optional: true, state: { ok: false, error: "fetch failed" } },
    ],
    lag: {
      ok: true,
      value: [
        { pipeline: "payments", topic: "payments.raw", records: 1234.4 },
        { pipeline: "iris", topic: "iris.features", records: 0 },
      ],
    },
    drift: {
      ok: true,
      value: [
        drift("amount", "psi", 0.41, 0.2, true),
        drift("amount", "drift:psi", 0.41, 0.2, true),
        drift("amount", "ksPValue", 0.001, 0.01, true),
        drift("country", "psi", 0.05, 0.2, false),
        drift("country", "drift:psi", 0.05, 0.2, false),
        drift("country", "ksPValue", 0.001, 0.01, true),
      ],
    },
    alerts: {
      ok: true,
      value: [
        {
          name: "StreamscoreFeatureDrift",
          severity: "warning",
          state: "firing",
          summary: "amount drifted in 2 windows",
          activeAt: "2026-12-07T10:11:00Z",
        },
        { name: "StreamscoreLag", severity: "warning", state: "pending", summary: "", activeAt: "" },
      ],
    },
    tables: {
      ok: true,
      value: [
        { table: "dead_letters", rows: 3 },
        { table: "predictions", rows: 1_234_567 },
      ],
      database: "streamscore",
    },
  };
}

describe("drift verdicts", () => {
  it("takes the monitor's deciding statistic where it wrote one, not any statistic over its threshold", () => {
    const verdicts = driftVerdicts(healthy().drift.ok ? (healthy().drift as { value: DriftRow[] }).value : []);
    expect(verdicts.map((v) => [v.feature, v.drifted, v.statistic])).toEqual([
      ["amount", true, "psi"],
      ["country", false, "psi"],
    ]);
  });

  it("falls back to any statistic over its threshold for rows without a deciding one", () => {
    const verdicts = driftVerdicts([
      drift("amount", "psi", 0.01, 0.2, false),
      drift("amount", "wasserstein", 9, 1, true),
    ]);
    expect(verdicts).toMatchObject([{ feature: "amount", drifted: true, statistic: "wasserstein", value: 9 }]);
    expect(driftVerdicts([drift("amount", "psi", 0.01, 0.2, false)])).toMatchObject([{ drifted: false }]);
  });

  it("keeps model versions and pipelines apart", () => {
    const rows = [
      drift("amount", "drift:psi", 0.5, 0.2, true),
      { ...drift("amount", "drift:psi", 0.1, 0.2, false), modelVersion: 2 },
    ];
    expect(driftVerdicts(rows).map((v) => [v.modelVersion, v.drifted])).toEqual([
      [1, true],
      [2, false],
    ]);
  });
});

describe("status screen", () => {
  it("shows every section of a healthy stack", () => {
    const text = renderStatus(healthy());
    expect(stackHealthy(healthy())).toBe(true);
    expect(text).toContain("streamscore status at 2026-12-07 10:15:30 UTC");
    for (const part of ["Kafka", "Registry", "ClickHouse", "Prometheus"]) {
      expect(text).toMatch(new RegExp(`^ {2}up {4}${part}`, "m"));
    }
    expect(text).toContain("1 broker(s), 18 topics");
    expect(text).toMatch(/ok\s+producer\s+http:\/\/127\.0\.0\.1:8080\s+ready/);
    expect(text).toMatch(/!!\s+transformer.*NOT READY: restoring state of payments\.raw\/1/);
    expect(text).toMatch(/!!\s+inference.*NOT RUNNING: fetch failed \(connect ECONNREFUSED/);
    expect(text).toMatch(/--\s+console.*not running \(optional\)/);
    expect(text).toMatch(/payments\.raw\s+1,234$/m);
    expect(text).toContain("payments model v1, window 10:05–10:10 UTC: 1 of 2 features drifted");
    expect(text).toContain("DRIFTED amount (psi 0.41, threshold 0.2)");
    expect(text).not.toContain("DRIFTED country");
    expect(text).toContain("FIRING warning   StreamscoreFeatureDrift: amount drifted in 2 windows since 10:11 UTC");
    expect(text).toContain("1 pending");
    expect(text).toMatch(/predictions\s+1,234,567/);
  });

  it("shows each unreachable part as such and still renders the rest", () => {
    const data = healthy();
    data.stack.clickhouse = { ok: false, error: "fetch failed (ECONNREFUSED)", where: "http://127.0.0.1:8123" };
    data.stack.kafka = { ok: false, error: "no answer within 3000 ms", where: "127.0.0.1:9092" };
    data.drift = { ok: false, error: "fetch failed (ECONNREFUSED)" };
    data.tables = { ok: false, error: "fetch failed (ECONNREFUSED)", database: "streamscore" };
    data.lag = { ok: false, error: "fetch failed" };
    data.alerts = { ok: false, error: "fetch failed" };
    const text = renderStatus(data);
    expect(stackHealthy(data)).toBe(false);
    expect(text).toMatch(
      /DOWN {2}ClickHouse\s+http:\/\/127\.0\.0\.1:8123 {2}unreachable: fetch failed \(ECONNREFUSED\)/,
    );
    expect(text).toMatch(/DOWN {2}Kafka\s+127\.0\.0\.1:9092 {2}unreachable: no answer within 3000 ms/);
    expect(text).toMatch(/up {4}Registry/);
    for (const section of ["Consumer lag", "Drift", "Alerts", "ClickHouse tables"]) {
      const after = text.slice(text.indexOf(section));
      expect(after.split("\n")[1]).toMatch(/^ {2}unavailable: /);
    }
    expect(text).toMatch(/ok\s+producer/);
  });

  it("says so when there is nothing to show yet", () => {
    const data = healthy();
    data.lag = { ok: true, value: [] };
    data.drift = { ok: true, value: [] };
    data.alerts = { ok: true, value: [] };
    data.tables = { ok: true, value: [], database: "streamscore" };
    const text = renderStatus(data);
    expect(text).toContain("no consumer reports lag");
    expect(text).toContain("no closed window yet");
    expect(text).toContain("none firing");
    expect(text).toContain("no tables (migrations not applied");
  });
});
