// Overview: services' health, rates per stage, lag, dead letters, latency, alerts, stored rows.
import { api, el, fmt, part, pipeline, render, section, table, time } from "../lib.js";

render(async () => {
  const o = await api("/overview");
  return [
    section(
      "Services",
      part(o.services, (services) =>
        table(
          [
            ["service", (s) => s.name],
            ["health", (s) => el("span", { class: s.healthy ? "ok" : "bad" }, s.healthy ? "up" : "down")],
            [
              "ready",
              (s) => el("span", { class: s.ready ? "ok" : "bad" }, s.ready ? "ready" : (s.reason ?? "not ready")),
            ],
            ["endpoint", (s) => s.url],
          ],
          services,
          { id: "services" },
        ),
      ),
    ),
    el(
      "div",
      { class: "grid" },
      section(
        "Ingest → scored, last hour",
        part(o.latency, (l) =>
          el(
            "div",
            { class: "figures", id: "latency" },
            el(
              "div",
              {},
              el("span", {}, "events scored"),
              el("b", { class: "figure", dataset: { figure: "events" } }, fmt(l.events)),
            ),
            el(
              "div",
              {},
              el("span", {}, "p50 (ms)"),
              el("b", { class: "figure", dataset: { figure: "p50" } }, fmt(l.p50Ms)),
            ),
            el(
              "div",
              {},
              el("span", {}, "p99 (ms)"),
              el("b", { class: "figure", dataset: { figure: "p99" } }, fmt(l.p99Ms)),
            ),
          ),
        ),
      ),
      section(
        "Events per second",
        part(o.eventsPerSecond, (rates) =>
          rates.length === 0
            ? el("p", { class: "muted" }, "No rates in Prometheus for this pipeline (are the services scraped?).")
            : table(
                [
                  ["stage", (r) => r.stage],
                  ["events/s", (r) => fmt(r.value, 3), true],
                ],
                rates,
                { id: "rates" },
              ),
        ),
      ),
      section(
        "Consumer lag",
        part(o.lag, (lag) =>
          lag.length === 0
            ? el("p", { class: "muted" }, "No lag reported.")
            : table(
                [
                  ["topic", (r) => r.topic],
                  ["records behind", (r) => fmt(r.records), true],
                ],
                lag,
                { id: "lag" },
              ),
        ),
      ),
      section(
        "Dead letters",
        part(o.deadLettersPerMinute, (rate) => el("p", {}, `${fmt(rate, 3)} per minute now (Prometheus, 5 min rate)`)),
        part(o.storedDeadLettersPerMinute, (minutes) =>
          el(
            "p",
            {},
            `${fmt(minutes.reduce((a, m) => a + m.records, 0))} stored in the last hour. `,
            el("a", { href: `/pipelines/${pipeline}/dead-letters` }, "See them"),
          ),
        ),
      ),
    ),
    section(
      "Alerts firing",
      part(o.alerts, (alerts) =>
        alerts.length === 0
          ? el("p", { class: "ok" }, "None.")
          : table(
              [
                ["alert", (a) => a.name],
                ["state", (a) => a.state],
                ["since", (a) => (a.activeAt ? time(Date.parse(a.activeAt) / 1000) : "")],
                ["summary", (a) => a.summary ?? ""],
              ],
              alerts,
              { id: "alerts" },
            ),
      ),
    ),
    section(
      "Stored in ClickHouse",
      part(o.rows, (rows) =>
        table(
          [
            ["table", (r) => r.table],
            ["rows", (r) => fmt(r.rows), true],
          ],
          rows,
          { id: "rows" },
        ),
      ),
      el(
        "p",
        {},
        el("a", { href: `/pipelines/${pipeline}/drift` }, "Drift"),
        " · ",
        el("a", { href: `/pipelines/${pipeline}/quality` }, "Quality"),
        " · ",
        el("a", { href: `/pipelines/${pipeline}/models` }, "Models"),
        " · ",
        el("a", { href: `/pipelines/${pipeline}/dead-letters` }, "Dead letters"),
      ),
    ),
  ];
});
