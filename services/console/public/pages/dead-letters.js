// Dead letters: counts by stage and reason, and the newest records with their headers and bytes.
import { api, el, fmt, part, render, section, table, time } from "../lib.js";

function record(r) {
  const headers = Object.entries(r.headers).map(([name, value]) =>
    el("tr", {}, el("th", {}, name), el("td", {}, value)),
  );
  return el(
    "details",
    { class: "dead-letter" },
    el(
      "summary",
      {},
      `${time(r.receivedTime)} UTC · ${r.headers["x-error-code"]} · ${r.headers["x-error-message"].slice(0, 120)}`,
    ),
    el("table", {}, el("tbody", {}, ...headers, el("tr", {}, el("th", {}, "key"), el("td", {}, r.key)))),
    r.value.size === 0
      ? el(
          "p",
          { class: "withheld" },
          "No original bytes here: this pipeline has personal fields, so its dead letters keep only where the original is " +
            `(${r.headers["x-original-topic"]} partition ${r.headers["x-original-partition"]}, offset ${r.headers["x-original-offset"]}); ` +
            "npm run cli -- dlq replay reads it from there.",
        )
      : [
          el(
            "p",
            {},
            `${fmt(r.value.size)} bytes`,
            r.value.schemaId === undefined ? "" : ` · Confluent wire format, schema id ${r.value.schemaId}`,
            r.value.truncated ? " · first 1 KiB shown" : "",
          ),
          r.value.json === undefined ? "" : el("pre", { class: "json" }, r.value.json),
          el("pre", { class: "hex" }, r.value.hex.join("\n")),
        ],
  );
}

render(async () => {
  const d = await api("/dead-letters");
  return [
    section(
      "Dead letters by stage and reason",
      part(d.counts, (rows) =>
        rows.length === 0
          ? el("p", { class: "ok" }, "None.")
          : table(
              [
                ["stage", (r) => r.stage],
                ["code", (r) => r.code],
                ["records", (r) => fmt(r.records), true],
                ["last seen (UTC)", (r) => time(r.lastSeen)],
              ],
              rows,
              { id: "dead-letter-counts" },
            ),
      ),
    ),
    section(
      "Newest records (click one for its headers and bytes)",
      part(d.sample, (rows) =>
        rows.length === 0
          ? el("p", { class: "muted" }, "None.")
          : el("div", { id: "dead-letter-sample" }, ...rows.map(record)),
      ),
    ),
  ];
});
