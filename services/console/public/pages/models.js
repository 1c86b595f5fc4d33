// Models: the versions that scored in the last day by role, and the registry's audit trail.
import { api, el, fmt, part, render, section, table, time } from "../lib.js";

render(async () => {
  const m = await api("/models");
  return [
    section(
      "Versions in use (last 24 hours)",
      part(m.inUse, (rows) =>
        rows.length === 0
          ? el("p", { class: "muted" }, "Nothing scored in the last day.")
          : table(
              [
                ["version", (r) => `v${r.version}`],
                ["role", (r) => r.role],
                ["events scored", (r) => fmt(r.scored), true],
                ["last scored", (r) => `${time(r.lastScored)} UTC`],
              ],
              rows,
              { id: "versions" },
            ),
      ),
    ),
    section(
      "Audit trail (newest first)",
      part(m.events, (rows) =>
        rows.length === 0
          ? el("p", { class: "muted" }, "No registry changes recorded: the pipeline runs the version on disk.")
          : table(
              [
                ["time (UTC)", (r) => time(r.time / 1000)],
                ["version", (r) => (r.version ? `v${r.version}` : "")],
                ["event", (r) => r.kind],
                ["from → to", (r) => (r.fromState || r.toState ? `${r.fromState || "–"} → ${r.toState || "–"}` : "")],
                ["weight", (r) => (r.weight ? `${fmt(r.weight)}%` : ""), true],
                ["actor", (r) => r.actor],
                ["reason", (r) => r.reason],
              ],
              rows,
              { id: "audit" },
            ),
      ),
    ),
  ];
});
