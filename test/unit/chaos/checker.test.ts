import { describe, expect, it } from "vitest";
import {
  type CheckReport,
  check,
  formatReport,
  type LedgerEntry,
  type ModelExpectation,
  type Observation,
} from "../../chaos/checker.ts";

/** A ledger of `keys` keys with `perKey` events each, sent key by key interleaved; every 7th event is bad. */
function ledgerOf(keys: number, perKey: number): LedgerEntry[] {
  const entries: LedgerEntry[] = [];
  for (let seq = 0; seq < perKey; seq += 1) {
    for (let k = 0; k < keys; k += 1) {
      const n = entries.length;
      entries.push({
        id: `e${n}`,
        key: `card-${k}`,
        seq,
        bad: n % 7 === 3,
        status: "accepted",
        attempts: [{ attempt: 1, outcome: 200, sentAt: n, answeredAt: n + 1 }],
      });
    }
  }
  return entries;
}

/** What a correct pipeline leaves behind: each good event once per hop, in order; bad ones in the DLQ. */
function cleanObservation(ledger: readonly LedgerEntry[]): Observation {
  const partitionOf = (key: string) => Number(key.split("-")[1]) % 3;
  const next = new Map<string, number>();
  const place = (topic: string, entry: LedgerEntry) => {
    const partition = partitionOf(entry.key);
    const offset = next.get(`${topic}${partition}`) ?? 0;
    next.set(`${topic}${partition}`, offset + 1);
    return { id: entry.id, key: entry.key, partition, offset };
  };
  const raw = ledger.map((e) => place("raw", e));
  const good = ledger.filter((e) => !e.bad);
  const features = good.map((e) => place("features", e));
  const scored = good.map((e) => place("scored", e));
  const dlq = ledger.filter((e) => e.bad).map((e) => place("dlq", e));
  const view = (records: typeof raw) => ({ committed: records, uncommitted: [...records] });
  return {
    topics: { raw: view(raw), features: view(features), scored: view(scored), dlq: view(dlq) },
    predictions: scored.map((r) => ({ id: r.id, key: r.key, sourcePartition: r.partition, sourceOffset: r.offset })),
  };
}

/** Swaps the ids of a key's first two records (or rows) in place; returns the id that moved back. */
function swapFirstTwo(records: Array<{ id: string; key: string }>, key: string): string {
  const first = records.findIndex((r) => r.key === key);
  const second = records.findIndex((r, i) => i > first && r.key === key);
  const a = records[first];
  const b = records[second];
  if (!a || !b) throw new Error("fixture too small");
  records[first] = { ...a, id: b.id };
  records[second] = { ...b, id: a.id };
  return a.id;
}

function problems(report: CheckReport) {
  return {
    lost: report.lost.length,
    duplicated: report.duplicated.length,
    outOfOrder: report.outOfOrder.length,
    abortedReads: report.abortedReads.length,
    unexpected: report.unexpected.length,
  };
}

const none = { lost: 0, duplicated: 0, outOfOrder: 0, abortedReads: 0, unexpected: 0 };

describe("chaos checker", () => {
  const ledger = ledgerOf(4, 10);

  it("passes a clean run", () => {
    const report = check(ledger, cleanObservation(ledger));
    expect(problems(report)).toEqual(none);
    expect(report.ok).toBe(true);
    expect(report.sent).toMatchObject({ accepted: 40, bad: 6 });
    expect(formatReport(report)).toContain("verdict: PASS");
  });

  it("catches a deleted ClickHouse row and names the hop", () => {
    const observation = cleanObservation(ledger);
    const [removed] = observation.predictions.splice(5, 1);
    const report = check(ledger, observation);
    expect(problems(report)).toEqual({ ...none, lost: 1 });
    expect(report.lost[0]).toMatchObject({ id: removed?.id, hop: "clickhouse" });
    expect(report.ok).toBe(false);
  });

  it("names the first hop an id is missing from", () => {
    const observation = cleanObservation(ledger);
    const features = observation.topics.features;
    const [removed] = features.committed.splice(2, 1);
    features.uncommitted = [...features.committed];
    const report = check(ledger, observation);
    expect(report.lost).toEqual([expect.objectContaining({ id: removed?.id, hop: "features" })]);
  });

  it("catches a bad event that is missing from the DLQ", () => {
    const observation = cleanObservation(ledger);
    const [removed] = observation.topics.dlq.committed.splice(0, 1);
    expect(check(ledger, observation).lost).toEqual([expect.objectContaining({ id: removed?.id, hop: "dlq" })]);
  });

  it("catches a duplicated ClickHouse row", () => {
    const observation = cleanObservation(ledger);
    const row = observation.predictions[7];
    if (!row) throw new Error("fixture too small");
    observation.predictions.push({ ...row });
    const report = check(ledger, observation);
    expect(problems(report)).toEqual({ ...none, duplicated: 1 });
    expect(report.duplicated[0]).toMatchObject({ id: row.id, hop: "clickhouse", detail: "2 times" });
  });

  it("catches a record duplicated in a topic, but allows a retried event twice in raw", () => {
    const observation = cleanObservation(ledger);
    const scored = observation.topics.scored.committed;
    const copy = { ...(scored[4] as (typeof scored)[number]), offset: 1000 };
    scored.push(copy);
    observation.topics.scored.uncommitted.push(copy);
    expect(problems(check(ledger, observation))).toEqual({ ...none, duplicated: 1 });

    const retried = ledger.map((e, i) =>
      i === 0
        ? { ...e, attempts: [...e.attempts, { ...(e.attempts[0] as LedgerEntry["attempts"][number]), attempt: 2 }] }
        : e,
    );
    const again = cleanObservation(retried);
    const rawCopy = { ...(again.topics.raw.committed[0] as SeenRecordLike), offset: 2000 };
    again.topics.raw.committed.push(rawCopy);
    const report = check(retried, again);
    expect(problems(report)).toEqual(none);
    expect(report.retryDuplicatesInRaw).toBe(1);
  });

  it("allows a retried bad event one dead letter per raw copy, and catches more", () => {
    const index = ledger.findIndex((e) => e.bad);
    const retried = ledger.map((e, i) =>
      i === index
        ? { ...e, attempts: [...e.attempts, { ...(e.attempts[0] as LedgerEntry["attempts"][number]), attempt: 2 }] }
        : e,
    );
    const observation = cleanObservation(retried);
    const raw = observation.topics.raw.committed;
    const dlq = observation.topics.dlq.committed;
    const rawCopy = raw.find((r) => r.id === retried[index]?.id) as SeenRecordLike;
    const deadLetter = dlq.find((r) => r.id === retried[index]?.id) as SeenRecordLike;
    raw.push({ ...rawCopy, offset: 3000 });
    dlq.push({ ...deadLetter, offset: 3000 });
    const report = check(retried, observation);
    expect(problems(report)).toEqual(none);
    expect(report.retryDuplicatesInDlq).toBe(1);
    dlq.push({ ...deadLetter, offset: 3001 });
    expect(check(retried, observation).duplicated).toEqual([
      expect.objectContaining({ hop: "dlq", detail: "3 times" }),
    ]);
  });

  it("catches two rows of one key swapped in ClickHouse", () => {
    const observation = cleanObservation(ledger);
    swapFirstTwo(observation.predictions, "card-1");
    const report = check(ledger, observation);
    expect(report.outOfOrder).toEqual([expect.objectContaining({ hop: "clickhouse", key: "card-1" })]);
    expect(report.ok).toBe(false);
  });

  it("catches two records of one key swapped in a topic", () => {
    const observation = cleanObservation(ledger);
    const moved = swapFirstTwo(observation.topics.features.committed, "card-2");
    const report = check(ledger, observation);
    expect(report.outOfOrder).toEqual([expect.objectContaining({ hop: "features", key: "card-2", id: moved })]);
  });

  it("catches a key split over two partitions", () => {
    const observation = cleanObservation(ledger);
    const scored = observation.topics.scored.committed;
    const last = scored.findLastIndex((r) => r.key === "card-0");
    scored[last] = { ...(scored[last] as SeenRecordLike), partition: 2, offset: 999 };
    expect(check(ledger, observation).outOfOrder).toEqual([
      expect.objectContaining({ hop: "scored", detail: expect.stringContaining("partitions") }),
    ]);
  });

  it("catches a downstream record read from an aborted transaction", () => {
    const observation = cleanObservation(ledger);
    const raw = observation.topics.raw;
    // The raw record stays visible read-uncommitted only: its transaction aborted.
    const index = raw.committed.findIndex((r) => !ledger.find((e) => e.id === r.id)?.bad);
    const [aborted] = raw.committed.splice(index, 1);
    const report = check(ledger, observation);
    expect(report.abortedRecords.raw).toBe(1);
    expect(report.abortedReads).toEqual([expect.objectContaining({ id: aborted?.id, hop: "features" })]);
    expect(report.lost).toEqual([expect.objectContaining({ id: aborted?.id, hop: "raw" })]);
  });

  it("catches a ClickHouse row whose source record is not committed", () => {
    const observation = cleanObservation(ledger);
    const row = observation.predictions[3];
    if (!row) throw new Error("fixture too small");
    row.sourceOffset = 5000;
    expect(check(ledger, observation).abortedReads).toEqual([
      expect.objectContaining({ id: row.id, hop: "clickhouse" }),
    ]);
  });

  it("catches a bad event downstream, a rejected event stored, and an id nobody sent", () => {
    const rejected = ledger.map((e, i) => (i === 1 ? { ...e, status: "rejected" as const } : e));
    const observation = cleanObservation(ledger);
    const bad = ledger.find((e) => e.bad);
    if (!bad) throw new Error("fixture has no bad event");
    observation.predictions.push({ id: bad.id, key: bad.key, sourcePartition: 9, sourceOffset: 0 });
    observation.predictions.push({ id: "nobody", key: "card-9", sourcePartition: 9, sourceOffset: 1 });
    const report = check(rejected, observation);
    const details = report.unexpected.map((f) => `${f.id} ${f.hop} ${f.detail}`);
    expect(details).toEqual(
      expect.arrayContaining([
        `${bad.id} clickhouse bad event passed the transformer`,
        "nobody clickhouse id not in the ledger",
        `${ledger[1]?.id} raw rejected event present`,
      ]),
    );
  });

  it("treats an unanswered event as optional, but exactly once when it arrived", () => {
    const unknown = ledger.map((e, i) => (i === 0 || i === 1 ? { ...e, status: "unknown" as const } : e));
    const observation = cleanObservation(ledger);
    // Event 0 never arrived anywhere; event 1 arrived and went all the way.
    const drop = (records: SeenRecordLike[]) => records.filter((r) => r.id !== "e0");
    for (const topic of ["raw", "features", "scored"] as const) {
      observation.topics[topic].committed = drop(observation.topics[topic].committed);
      observation.topics[topic].uncommitted = drop(observation.topics[topic].uncommitted);
    }
    observation.predictions = observation.predictions.filter((r) => r.id !== "e0");
    const report = check(unknown, observation);
    expect(problems(report)).toEqual(none);
    expect(report.sent.unknown).toBe(2);
  });
});

describe("chaos checker, model roles", () => {
  const ledger = ledgerOf(4, 10);
  const models: ModelExpectation = {
    deciding: [
      { version: 1, role: "champion" },
      { version: 2, role: "canary" },
      { version: 2, role: "champion" },
    ],
    shadowVersion: 3,
  };

  /** A clean run under model changes: decisions split over v1 and v2, every good event shadowed by v3 once. */
  function withModels(): Observation {
    const observation = cleanObservation(ledger);
    const scored = observation.topics.scored;
    scored.committed = scored.committed.map((r, i) => ({
      ...r,
      model: i % 3 === 0 ? { version: 2, role: "canary" } : { version: i < 20 ? 1 : 2, role: "champion" },
    }));
    scored.uncommitted = [...scored.committed];
    const shadow = scored.committed.map((r) => ({ ...r, model: { version: 3, role: "shadow" } }));
    observation.shadowScored = { committed: shadow, uncommitted: [...shadow] };
    return observation;
  }

  it("passes a clean run and counts decisions and shadow scores per version and role", () => {
    const report = check(ledger, withModels(), models);
    expect(problems(report)).toEqual(none);
    expect(report.roles?.illegal).toEqual([]);
    expect(report.roles?.decisions).toEqual({ lost: 0, duplicated: 0 });
    expect(report.roles?.shadow).toEqual({ version: 3, lost: 0, duplicated: 0 });
    expect(report.roles?.decisionsBy).toEqual({ "v1 champion": 13, "v2 canary": 12, "v2 champion": 9 });
    expect(report.roles?.shadowBy).toEqual({ "v3 shadow": 34 });
    expect(report.ok).toBe(true);
    const text = formatReport(report);
    expect(text).toContain("shadow v3 (shadow-scored): lost 0, duplicated 0; by version and role: v3 shadow 34");
    expect(text).toContain("illegalModels: 0");
    expect(text).toContain("held by the registry but deciding nothing (untested): none");
    expect(text).toContain("verdict: PASS");
  });

  it("catches a lost shadow score", () => {
    const observation = withModels();
    const shadow = observation.shadowScored as NonNullable<Observation["shadowScored"]>;
    const [removed] = shadow.committed.splice(6, 1);
    const report = check(ledger, observation, models);
    expect(report.lost).toEqual([expect.objectContaining({ id: removed?.id, hop: "shadow-scored" })]);
    expect(report.roles?.shadow).toEqual({ version: 3, lost: 1, duplicated: 0 });
    expect(report.ok).toBe(false);
    expect(formatReport(report)).toContain("lost: 1 (shadow-scored 1)");
  });

  it("catches a shadow that scored nothing (the topic empty or never read)", () => {
    const observation = withModels();
    delete observation.shadowScored;
    const report = check(ledger, observation, models);
    expect(report.roles?.shadow.lost).toBe(34);
    expect(report.ok).toBe(false);
  });

  it("catches a duplicated shadow score", () => {
    const observation = withModels();
    const shadow = observation.shadowScored as NonNullable<Observation["shadowScored"]>;
    const copy = { ...(shadow.committed[4] as SeenRecordLike), offset: 900 };
    shadow.committed.push(copy);
    shadow.uncommitted.push(copy);
    const report = check(ledger, observation, models);
    expect(report.duplicated).toEqual([
      expect.objectContaining({ id: copy.id, hop: "shadow-scored", detail: "2 times" }),
    ]);
    expect(report.roles?.shadow).toEqual({ version: 3, lost: 0, duplicated: 1 });
    expect(report.ok).toBe(false);
  });

  it("catches a decision lost or duplicated across versions, per role", () => {
    const observation = withModels();
    const scored = observation.topics.scored;
    const [removed] = scored.committed.splice(3, 1);
    const copy = { ...(scored.committed[8] as SeenRecordLike), offset: 700, model: { version: 1, role: "champion" } };
    scored.committed.push(copy);
    const report = check(ledger, observation, models);
    expect(report.roles?.decisions).toEqual({ lost: 1, duplicated: 1 });
    expect(report.lost).toEqual([expect.objectContaining({ id: removed?.id, hop: "scored" })]);
    expect(report.duplicated).toEqual([expect.objectContaining({ id: copy.id, hop: "scored" })]);
  });

  it("catches a decision by a version or role no deployment held", () => {
    const observation = withModels();
    const scored = observation.topics.scored.committed;
    const first = scored[0] as SeenRecordLike;
    const second = scored[1] as SeenRecordLike;
    scored[0] = { ...first, model: { version: 4, role: "champion" } };
    scored[1] = { ...second, model: { version: 1, role: "canary" } };
    const report = check(ledger, observation, models);
    expect(report.roles?.illegal).toEqual([
      expect.objectContaining({ id: first.id, hop: "scored", detail: expect.stringContaining("v4 champion") }),
      expect.objectContaining({ id: second.id, hop: "scored", detail: expect.stringContaining("v1 canary") }),
    ]);
    expect(problems(report)).toEqual(none);
    expect(report.ok).toBe(false);
    expect(formatReport(report)).toContain("illegalModels: 2 (scored 2)");
  });

  it("fails a run where a pair the registry held decided nothing (a promotion that never took effect)", () => {
    const observation = withModels();
    const scored = observation.topics.scored;
    scored.committed = scored.committed.map((r) =>
      r.model?.version === 2 && r.model.role === "champion" ? { ...r, model: { version: 1, role: "champion" } } : r,
    );
    const report = check(ledger, observation, models);
    expect(report.roles?.undecided).toEqual(["v2 champion"]);
    expect(problems(report)).toEqual(none);
    expect(report.ok).toBe(false);
    expect(formatReport(report)).toContain("deciding nothing (untested): v2 champion");
  });

  it("catches a decision that names no model and a shadow score by another version", () => {
    const observation = withModels();
    const scored = observation.topics.scored.committed;
    const shadow = (observation.shadowScored as NonNullable<Observation["shadowScored"]>).committed;
    const { model: _, ...unnamed } = scored[2] as SeenRecordLike;
    scored[2] = unnamed;
    shadow[5] = { ...(shadow[5] as SeenRecordLike), model: { version: 2, role: "shadow" } };
    const report = check(ledger, observation, models);
    expect(report.roles?.illegal.map((f) => `${f.hop} ${f.id}`)).toEqual([
      `scored ${unnamed.id}`,
      `shadow-scored ${shadow[5]?.id}`,
    ]);
    expect(report.ok).toBe(false);
  });

  it("catches a shadow score read from an aborted features record, and one of a bad event", () => {
    const observation = withModels();
    const features = observation.topics.features;
    const [aborted] = features.committed.splice(0, 1);
    const bad = ledger.find((e) => e.bad) as LedgerEntry;
    const shadow = observation.shadowScored as NonNullable<Observation["shadowScored"]>;
    shadow.committed.push({
      id: bad.id,
      key: bad.key,
      partition: 0,
      offset: 800,
      model: { version: 3, role: "shadow" },
    });
    const report = check(ledger, observation, models);
    expect(report.abortedReads).toEqual(
      expect.arrayContaining([expect.objectContaining({ id: aborted?.id, hop: "shadow-scored" })]),
    );
    expect(report.unexpected).toEqual([
      expect.objectContaining({
        id: bad.id,
        hop: "shadow-scored",
        detail: expect.stringContaining("not a good event"),
      }),
    ]);
  });
});

type SeenRecordLike = Observation["topics"]["raw"]["committed"][number];
