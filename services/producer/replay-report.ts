// A dead-letter replay's report as a person reads it in the terminal (the API answers the JSON).
import type { ReplayReport } from "../shared/kafka/dead-letter-replay.ts";

function counts(byKey: Record<string, number>): string {
  const entries = Object.entries(byKey).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  return entries.map(([key, n]) => `${key} ${n}`).join(", ");
}

export function formatReplayReport(report: ReplayReport): string {
  const s = report.skipped;
  const notReplayable = Object.values(s.notReplayable).reduce((a, b) => a + b, 0);
  const skipped = s.code + s.since + notReplayable + s.unknownOrigin + s.superseded + s.originalGone;
  const lines = [
    `${report.deadLetterTopic}: ${report.read} dead letters read; replayable are those of ${report.replayableTopics.join(", ")}`,
    report.dryRun
      ? `dry run: ${report.replayed} would go back to ${report.replayableTopics.join(", ")} (nothing sent)`
      : `replayed: ${report.replayed} sent back to ${report.replayableTopics.join(", ")}`,
    `skipped: ${skipped}`,
  ];
  const reasons: Array<[number, string]> = [
    [s.code, "other error code (--code)"],
    [s.since, "dead-lettered before --since"],
    [notReplayable, `not replayable: failed reading ${counts(s.notReplayable)}`],
    [s.superseded, "older dead letters of an event with a newer one (only the newest goes back)"],
    [s.unknownOrigin, "no x-original-* headers"],
    [s.originalGone, "original no longer in the raw topic (retention)"],
  ];
  for (const [n, reason] of reasons) if (n > 0) lines.push(`  ${n} ${reason}`);
  const still = report.stillFailing;
  if (still.method === "decode-check") {
    lines.push(
      still.count === 0
        ? "decode check: every one decodes with the registry as it is now"
        : `decode check: ${still.count} would still fail (${counts(still.byCode)})`,
    );
  } else if (still.method === "after-processing") {
    lines.push(
      still.count === 0
        ? "after processing: none dead-lettered again by the transformer"
        : `after processing: ${still.count} still fail (${counts(still.byCode)})`,
    );
    if (still.notYetProcessed > 0) {
      lines.push(`  ${still.notYetProcessed} not yet taken by the transformer when the wait ended (see the DLQ later)`);
    }
  } else if (!report.dryRun && report.replayed > 0) {
    lines.push("not checked for new failures (--wait 0)");
  }
  lines.push(
    `an event replayed again is dropped as a duplicate within ${report.dedupeWindowSeconds} s of its entity's newest event time`,
  );
  return lines.join("\n");
}
