// The chaos checker: compares the ledger of what was sent with what every hop holds after a drain,
// and names every lost, duplicated, out-of-order and aborted-read record. Pure: the observation is
// read elsewhere (observe.ts), so the checker's own tests can tamper with it row by row.

/** One HTTP attempt of one event; a retry reuses the event id. */
export interface Attempt {
  attempt: number;
  /** HTTP status, or "timeout" / "error" when no answer came. */
  outcome: number | "timeout" | "error";
  sentAt: number;
  answeredAt: number;
}

export interface LedgerEntry {
  id: string;
  key: string;
  /** Position of the event in its key's sequence, from 0, in send order. */
  seq: number;
  /** A deliberately bad event (tagged): it must end in the DLQ exactly once and nowhere else. */
  bad: boolean;
  /**
   * accepted: the API acknowledged it (so it is in Kafka); rejected: the API refused it (400, so it
   * must be nowhere); unknown: no answer after every retry (it may or may not be in Kafka).
   */
  status: "accepted" | "rejected" | "unknown";
  attempts: Attempt[];
}

/** One record as a consumer saw it: the event id and the Kafka key, where it sits. */
export interface SeenRecord {
  id: string;
  key: string;
  partition: number;
  offset: number;
  /** The model version and role a scored record names (read only when a run checks model roles). */
  model?: { version: number; role: string };
}

/** One row of the predictions table, with the scored record it was written from. */
export interface StoredRow {
  id: string;
  key: string;
  sourcePartition: number;
  sourceOffset: number;
}

export const topicHops = ["raw", "features", "scored"] as const;
export type TopicHop = (typeof topicHops)[number];
export type Hop = TopicHop | "clickhouse";
export const hops: readonly Hop[] = [...topicHops, "clickhouse"];

export interface TopicView {
  /** Everything a read-committed consumer returns. */
  committed: SeenRecord[];
  /** Everything a read-uncommitted consumer returns (committed plus aborted or open transactions). */
  uncommitted: SeenRecord[];
}

export interface Observation {
  topics: Record<TopicHop | "dlq", TopicView>;
  predictions: StoredRow[];
  /** `<p>.shadow-scored`, with each committed record's model: read when the run checks a shadow. */
  shadowScored?: TopicView;
}

/** Where a finding was made: a hop, the DLQ, or the shadow's scores. */
export type FindingHop = Hop | "dlq" | "shadow-scored";

export interface Finding {
  id: string;
  key: string;
  hop: FindingHop;
  detail: string;
}

/** What a run that changes models mid-stream expects of the models' records. */
export interface ModelExpectation {
  /**
   * Every (version, role) a decision may name: the deciding pairs of every deployment the registry
   * held during the run. A decision naming another pair was made by a set nobody asked for.
   */
  deciding: ReadonlyArray<{ version: number; role: "champion" | "canary" }>;
  /** The shadow version set before sending and never changed: it must score every event once. */
  shadowVersion: number;
}

/** Per role: how many records each (version, role) holds, and what the checks found for that role. */
export interface RoleReport {
  /** Committed decisions on scored, by "v<version> <role>". */
  decisionsBy: Record<string, number>;
  /** Committed records on shadow-scored, by "v<version> <role>". */
  shadowBy: Record<string, number>;
  decisions: { lost: number; duplicated: number };
  shadow: { version: number; lost: number; duplicated: number };
  /** Decisions whose version and role no deployment of the run held, and shadow records of another version or role. */
  illegal: Finding[];
  /**
   * Deciding (version, role) pairs the registry held that decided no event: a change that never
   * took effect, or a phase the run did not test. Either way the run proves nothing about it.
   */
  undecided: string[];
}

export interface CheckReport {
  sent: { accepted: number; rejected: number; unknown: number; bad: number; retried: number };
  /** Accepted good events missing from ClickHouse (hop: where they vanished), bad ones missing from the DLQ. */
  lost: Finding[];
  /** An id more than once in one hop (raw is exempt for retried ids: the de-duplication is the next hop's job). */
  duplicated: Finding[];
  /** A key's records not in send order (by offset, or by source offset in ClickHouse), or a key on two partitions. */
  outOfOrder: Finding[];
  /** Records read committed downstream whose upstream record was never committed, or rows pointing at no committed record. */
  abortedReads: Finding[];
  /** Records that should not be anywhere: unknown ids, rejected events, bad events downstream of the transformer. */
  unexpected: Finding[];
  /** Only when the run checks model roles: the counts and findings per role. */
  roles?: RoleReport;
  /** Records only a read-uncommitted consumer sees, per topic: evidence that aborts happened (not an error). */
  abortedRecords: Partial<Record<TopicHop | "dlq" | "shadow-scored", number>>;
  /** Raw records written twice by a client retry (not an error). */
  retryDuplicatesInRaw: number;
  /**
   * Dead letters of a retried bad event beyond the first: one per raw copy, so exactly once per
   * Kafka record, though not once per event id (the de-duplication runs after cleaning).
   */
  retryDuplicatesInDlq: number;
  ok: boolean;
}

const positionKey = (partition: number, offset: number) => `${partition}:${offset}`;

function countIds(records: readonly { id: string }[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const r of records) counts.set(r.id, (counts.get(r.id) ?? 0) + 1);
  return counts;
}

/** Per key, the sequence numbers of the ids in the order given, first occurrence only. */
function orderFindings(
  hop: FindingHop,
  ordered: ReadonlyArray<{ id: string; key: string; partition: number }>,
  ledger: ReadonlyMap<string, LedgerEntry>,
): Finding[] {
  const findings: Finding[] = [];
  const last = new Map<string, { seq: number; id: string; partition: number }>();
  const seen = new Set<string>();
  for (const record of ordered) {
    const entry = ledger.get(record.id);
    if (!entry || seen.has(record.id)) continue;
    seen.add(record.id);
    const previous = last.get(entry.key);
    if (previous && previous.partition !== record.partition) {
      findings.push({
        id: record.id,
        key: entry.key,
        hop,
        detail: `key on partitions ${previous.partition} and ${record.partition}`,
      });
    } else if (previous && entry.seq < previous.seq) {
      findings.push({
        id: record.id,
        key: entry.key,
        hop,
        detail: `seq ${entry.seq} after seq ${previous.seq} (${previous.id})`,
      });
    }
    if (!previous || entry.seq > previous.seq)
      last.set(entry.key, { seq: entry.seq, id: record.id, partition: record.partition });
  }
  return findings;
}

const byPosition = (a: SeenRecord, b: SeenRecord) => a.partition - b.partition || a.offset - b.offset;

export function check(
  ledgerEntries: readonly LedgerEntry[],
  observation: Observation,
  models?: ModelExpectation,
): CheckReport {
  const ledger = new Map(ledgerEntries.map((e) => [e.id, e]));
  const { topics, predictions } = observation;
  const committedIds = {
    raw: countIds(topics.raw.committed),
    features: countIds(topics.features.committed),
    scored: countIds(topics.scored.committed),
    dlq: countIds(topics.dlq.committed),
  };
  const storedIds = countIds(predictions);
  const counts: Record<Hop | "dlq", Map<string, number>> = { ...committedIds, clickhouse: storedIds };

  const lost: Finding[] = [];
  const duplicated: Finding[] = [];
  const unexpected: Finding[] = [];
  const abortedReads: Finding[] = [];
  const outOfOrder: Finding[] = [];
  /** Good events that must have gone all the way: accepted, or unanswered but in raw. */
  const good: LedgerEntry[] = [];

  for (const entry of ledgerEntries) {
    const { id, key } = entry;
    if (entry.status === "rejected" || (entry.status === "unknown" && !committedIds.raw.has(id))) {
      for (const hop of [...hops, "dlq"] as const) {
        if (counts[hop].has(id)) unexpected.push({ id, key, hop, detail: `${entry.status} event present` });
      }
      continue;
    }
    if (entry.bad) {
      if (!committedIds.raw.has(id)) lost.push({ id, key, hop: "raw", detail: "bad event never reached raw" });
      else if (!committedIds.dlq.has(id)) lost.push({ id, key, hop: "dlq", detail: "bad event not dead-lettered" });
      for (const hop of ["features", "scored", "clickhouse"] as const) {
        if (counts[hop].has(id)) unexpected.push({ id, key, hop, detail: "bad event passed the transformer" });
      }
      continue;
    }
    good.push(entry);
    const missing = hops.find((hop) => !counts[hop].has(id));
    if (missing) lost.push({ id, key, hop: missing, detail: `accepted, not in ${missing}` });
    if (committedIds.dlq.has(id)) unexpected.push({ id, key, hop: "dlq", detail: "good event dead-lettered" });
  }

  let retryDuplicatesInRaw = 0;
  let retryDuplicatesInDlq = 0;
  for (const hop of [...hops, "dlq"] as const) {
    for (const [id, n] of counts[hop]) {
      const entry = ledger.get(id);
      if (!entry) {
        unexpected.push({ id, key: "?", hop, detail: "id not in the ledger" });
        continue;
      }
      if (n < 2) continue;
      if (hop === "raw" && entry.attempts.length > 1) {
        retryDuplicatesInRaw += n - 1;
        continue;
      }
      if (hop === "dlq" && entry.attempts.length > 1 && n <= (committedIds.raw.get(id) ?? 0)) {
        retryDuplicatesInDlq += n - 1;
        continue;
      }
      duplicated.push({ id, key: entry.key, hop, detail: `${n} times` });
    }
  }

  // Aborted reads between topics: read committed downstream, but upstream only in a transaction
  // that never committed.
  const abortedRecords: CheckReport["abortedRecords"] = {};
  for (const topic of [...topicHops, "dlq"] as const) {
    const committed = new Set(topics[topic].committed.map((r) => positionKey(r.partition, r.offset)));
    abortedRecords[topic] = topics[topic].uncommitted.filter(
      (r) => !committed.has(positionKey(r.partition, r.offset)),
    ).length;
  }
  const upstreamOf: Record<"features" | "scored" | "dlq", TopicHop> = {
    features: "raw",
    scored: "features",
    dlq: "raw",
  };
  for (const downstream of ["features", "scored", "dlq"] as const) {
    const upstream = upstreamOf[downstream];
    const upstreamUncommitted = new Set(topics[upstream].uncommitted.map((r) => r.id));
    for (const id of committedIds[downstream].keys()) {
      if (!committedIds[upstream].has(id) && upstreamUncommitted.has(id)) {
        abortedReads.push({
          id,
          key: ledger.get(id)?.key ?? "?",
          hop: downstream,
          detail: `read from an aborted ${upstream} record`,
        });
      }
    }
  }
  // Rows in ClickHouse must come from a committed scored record with the same id.
  const scoredAt = new Map(topics.scored.committed.map((r) => [positionKey(r.partition, r.offset), r.id]));
  for (const row of predictions) {
    const source = scoredAt.get(positionKey(row.sourcePartition, row.sourceOffset));
    if (source !== row.id) {
      abortedReads.push({
        id: row.id,
        key: row.key,
        hop: "clickhouse",
        detail: `source ${row.sourcePartition}:${row.sourceOffset} holds ${source ?? "no committed record"}`,
      });
    }
  }

  for (const topic of [...topicHops, "dlq"] as const) {
    outOfOrder.push(...orderFindings(topic, [...topics[topic].committed].sort(byPosition), ledger));
  }
  const rowsInSourceOrder = predictions
    .map((r) => ({ id: r.id, key: r.key, partition: r.sourcePartition, offset: r.sourceOffset }))
    .sort(byPosition);
  outOfOrder.push(...orderFindings("clickhouse", rowsInSourceOrder, ledger));

  let roles: RoleReport | undefined;
  if (models) {
    const shadow = observation.shadowScored ?? { committed: [], uncommitted: [] };
    const checked = checkRoles(good, ledger, topics, shadow, models);
    roles = checked.report;
    // Loops, not spreads: a shadow that scored nothing leaves one finding per event.
    for (const f of checked.shadowFindings.lost) lost.push(f);
    for (const f of checked.shadowFindings.duplicated) duplicated.push(f);
    for (const f of checked.shadowFindings.unexpected) unexpected.push(f);
    for (const f of checked.shadowFindings.abortedReads) abortedReads.push(f);
    for (const f of orderFindings("shadow-scored", [...shadow.committed].sort(byPosition), ledger)) outOfOrder.push(f);
    abortedRecords["shadow-scored"] = checked.shadowFindings.abortedRecords;
  }

  const sent = {
    accepted: ledgerEntries.filter((e) => e.status === "accepted").length,
    rejected: ledgerEntries.filter((e) => e.status === "rejected").length,
    unknown: ledgerEntries.filter((e) => e.status === "unknown").length,
    bad: ledgerEntries.filter((e) => e.bad).length,
    retried: ledgerEntries.filter((e) => e.attempts.length > 1).length,
  };
  return {
    sent,
    lost,
    duplicated,
    outOfOrder,
    abortedReads,
    unexpected,
    abortedRecords,
    retryDuplicatesInRaw,
    retryDuplicatesInDlq,
    ...(roles ? { roles } : {}),
    ok:
      lost.length +
        duplicated.length +
        outOfOrder.length +
        abortedReads.length +
        unexpected.length +
        (roles?.illegal.length ?? 0) +
        (roles?.undecided.length ?? 0) ===
        0 && sent.accepted > 0,
  };
}

const pairName = (model: SeenRecord["model"]) => (model ? `v${model.version} ${model.role}` : "model unread");

function countBy(records: readonly SeenRecord[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const r of records) counts[pairName(r.model)] = (counts[pairName(r.model)] ?? 0) + 1;
  return counts;
}

/**
 * The model roles of a run that changes models mid-stream: every good event decided exactly once
 * (over all versions) by a (version, role) some deployment of the run held, and scored exactly once
 * by the shadow that was there all along, read committed, nothing of it read from an aborted
 * features record. Shadow findings also go to the report's lists, so they fail the run like any hop.
 */
function checkRoles(
  good: readonly LedgerEntry[],
  ledger: ReadonlyMap<string, LedgerEntry>,
  topics: Observation["topics"],
  shadow: TopicView,
  models: ModelExpectation,
) {
  const hop = "shadow-scored" as const;
  const decided = countIds(topics.scored.committed);
  const shadowed = countIds(shadow.committed);
  const goodIds = new Set(good.map((e) => e.id));
  const shadowFindings = {
    lost: [] as Finding[],
    duplicated: [] as Finding[],
    unexpected: [] as Finding[],
    abortedReads: [] as Finding[],
    abortedRecords: 0,
  };
  let decisionsLost = 0;
  let decisionsDuplicated = 0;
  for (const entry of good) {
    if (!decided.has(entry.id)) decisionsLost += 1;
    if (!shadowed.has(entry.id)) {
      shadowFindings.lost.push({
        id: entry.id,
        key: entry.key,
        hop,
        detail: `never scored by shadow v${models.shadowVersion}`,
      });
    }
  }
  for (const [id, n] of decided) if (n > 1 && goodIds.has(id)) decisionsDuplicated += 1;
  for (const [id, n] of shadowed) {
    const entry = ledger.get(id);
    if (!entry) shadowFindings.unexpected.push({ id, key: "?", hop, detail: "id not in the ledger" });
    else if (!goodIds.has(id)) {
      shadowFindings.unexpected.push({ id, key: entry.key, hop, detail: "scored by the shadow, but not a good event" });
    }
    if (n > 1) shadowFindings.duplicated.push({ id, key: entry?.key ?? "?", hop, detail: `${n} times` });
  }

  const illegal: Finding[] = [];
  const legal = new Set(models.deciding.map((d) => pairName(d)));
  for (const r of topics.scored.committed) {
    if (!legal.has(pairName(r.model))) {
      illegal.push({
        id: r.id,
        key: r.key,
        hop: "scored",
        detail: `decided by ${pairName(r.model)}, which no deployment of the run held (legal: ${[...legal].join(", ")})`,
      });
    }
  }
  for (const r of shadow.committed) {
    if (r.model?.version !== models.shadowVersion || r.model.role !== "shadow") {
      illegal.push({
        id: r.id,
        key: r.key,
        hop,
        detail: `shadow record of ${pairName(r.model)}, expected v${models.shadowVersion} shadow`,
      });
    }
  }

  const committedAt = new Set(shadow.committed.map((r) => positionKey(r.partition, r.offset)));
  shadowFindings.abortedRecords = shadow.uncommitted.filter(
    (r) => !committedAt.has(positionKey(r.partition, r.offset)),
  ).length;
  const featuresCommitted = new Set(topics.features.committed.map((r) => r.id));
  const featuresUncommitted = new Set(topics.features.uncommitted.map((r) => r.id));
  for (const id of shadowed.keys()) {
    if (!featuresCommitted.has(id) && featuresUncommitted.has(id)) {
      shadowFindings.abortedReads.push({
        id,
        key: ledger.get(id)?.key ?? "?",
        hop,
        detail: "read from an aborted features record",
      });
    }
  }

  const decisionsBy = countBy(topics.scored.committed);
  const report: RoleReport = {
    decisionsBy,
    shadowBy: countBy(shadow.committed),
    decisions: { lost: decisionsLost, duplicated: decisionsDuplicated },
    shadow: {
      version: models.shadowVersion,
      lost: shadowFindings.lost.length,
      duplicated: shadowFindings.duplicated.length,
    },
    illegal,
    undecided: [...legal].filter((pair) => !decisionsBy[pair]),
  };
  return { report, shadowFindings };
}

/** A short text of the report: counts, and the first few findings of each kind. */
export function formatReport(report: CheckReport, examples = 5): string {
  const lines = [
    `sent: ${report.sent.accepted} accepted (${report.sent.bad} tagged bad), ${report.sent.rejected} rejected, ${report.sent.unknown} unknown, ${report.sent.retried} retried`,
    `aborted records seen read-uncommitted only: ${Object.entries(report.abortedRecords)
      .map(([t, n]) => `${t} ${n}`)
      .join(
        ", ",
      )}; retry duplicates in raw: ${report.retryDuplicatesInRaw}, in the DLQ (one per raw copy): ${report.retryDuplicatesInDlq}`,
  ];
  const roles = report.roles;
  if (roles) {
    const by = (counts: Record<string, number>) =>
      Object.entries(counts)
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([pair, n]) => `${pair} ${n}`)
        .join(", ") || "none";
    lines.push(
      `decisions (scored, champion and canary over all versions): lost ${roles.decisions.lost}, duplicated ${roles.decisions.duplicated}; by version and role: ${by(roles.decisionsBy)}`,
      `shadow v${roles.shadow.version} (shadow-scored): lost ${roles.shadow.lost}, duplicated ${roles.shadow.duplicated}; by version and role: ${by(roles.shadowBy)}`,
      `held by the registry but deciding nothing (untested): ${roles.undecided.length === 0 ? "none" : roles.undecided.join(", ")}`,
    );
  }
  const kinds = ["lost", "duplicated", "outOfOrder", "abortedReads", "unexpected"] as const;
  const lists: Array<[string, Finding[]]> = kinds.map((kind) => [kind, report[kind]]);
  if (roles) lists.push(["illegalModels", roles.illegal]);
  for (const [kind, findings] of lists) {
    const byHop = new Map<string, number>();
    for (const f of findings) byHop.set(f.hop, (byHop.get(f.hop) ?? 0) + 1);
    const perHop = [...byHop].map(([hop, n]) => `${hop} ${n}`).join(", ");
    lines.push(`${kind}: ${findings.length}${perHop ? ` (${perHop})` : ""}`);
    for (const f of findings.slice(0, examples)) lines.push(`  ${f.hop} ${f.id} key ${f.key}: ${f.detail}`);
  }
  lines.push(report.ok ? "verdict: PASS" : "verdict: FAIL");
  return lines.join("\n");
}
