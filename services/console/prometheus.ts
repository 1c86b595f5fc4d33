// Reads the Prometheus HTTP API: instant queries and the alerts it evaluates. Failures come back as
// errors for the caller to show as "unavailable"; the console never needs Prometheus to start.

export interface Sample {
  labels: Record<string, string>;
  value: number;
}

export interface FiringAlert {
  name: string;
  state: string;
  labels: Record<string, string>;
  activeAt: string | undefined;
  summary: string | undefined;
}

export interface Prometheus {
  /** An instant vector query's samples (a scalar comes back as one sample without labels). */
  query(promql: string): Promise<Sample[]>;
  alerts(): Promise<FiringAlert[]>;
}

const timeoutMs = 3000;

async function getJson(url: string): Promise<{ status: string; data: unknown; error?: string }> {
  const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  const body = (await response.json()) as { status: string; data: unknown; error?: string };
  if (body.status !== "success")
    throw new Error(`Prometheus answered ${response.status}: ${body.error ?? "no error text"}`);
  return body;
}

export function createPrometheus(baseUrl: string): Prometheus {
  const base = baseUrl.replace(/\/$/, "");
  return {
    async query(promql) {
      const { data } = await getJson(`${base}/api/v1/query?query=${encodeURIComponent(promql)}`);
      const result = data as
        | { resultType: "vector"; result: Array<{ metric: Record<string, string>; value: [number, string] }> }
        | { resultType: "scalar"; result: [number, string] };
      if (result.resultType === "scalar") return [{ labels: {}, value: Number(result.result[1]) }];
      return result.result.map((r) => ({ labels: r.metric, value: Number(r.value[1]) }));
    },
    async alerts() {
      const { data } = await getJson(`${base}/api/v1/alerts`);
      const alerts = (data as { alerts: Array<Record<string, unknown>> }).alerts;
      return alerts.map((a) => {
        const labels = (a.labels ?? {}) as Record<string, string>;
        return {
          name: labels.alertname ?? "",
          state: String(a.state ?? ""),
          labels,
          activeAt: a.activeAt as string | undefined,
          summary: ((a.annotations ?? {}) as Record<string, string>).summary,
        };
      });
    },
  };
}
