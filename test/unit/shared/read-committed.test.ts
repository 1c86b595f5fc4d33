import { describe, expect, it } from "vitest";
import { type FetchedMessage, filterAbortedMessages } from "../../../services/shared/kafka/read-committed.ts";

const record = (offset: number, producerId: string, inTransaction = true): FetchedMessage => ({
  offset: String(offset),
  key: Buffer.from("k"),
  batchContext: { producerId, inTransaction },
});
/** A transaction marker: key = version 0, type 0 (abort) or 1 (commit). */
const marker = (offset: number, producerId: string, type: 0 | 1): FetchedMessage => ({
  offset: String(offset),
  key: Buffer.from([0, 0, 0, type]),
  isControlRecord: true,
  batchContext: { producerId, inTransaction: true },
});
const offsets = (messages: FetchedMessage[]) => messages.filter((m) => !m.isControlRecord).map((m) => Number(m.offset));

describe("read-committed filter", () => {
  it("drops the records of every aborted transaction a fetch starts inside, not only the first one's", () => {
    // p1 and p2 each opened a transaction before offset 3 and both aborted; p3 committed. A fetch from offset 3.
    const messages = [record(3, "p2"), record(4, "p1"), marker(5, "p1", 0), marker(6, "p2", 0), record(7, "p3")];
    const aborted = [
      { producerId: "p1", firstOffset: "0" },
      { producerId: "p2", firstOffset: "1" },
    ];
    expect(offsets(filterAbortedMessages({ messages, abortedTransactions: aborted }))).toEqual([7]);
  });

  it("keeps a producer's committed transaction after its aborted one ended", () => {
    const messages = [record(0, "p1"), marker(1, "p1", 0), record(2, "p1"), marker(3, "p1", 1), record(4, "p2")];
    const aborted = [{ producerId: "p1", firstOffset: "0" }];
    expect(offsets(filterAbortedMessages({ messages, abortedTransactions: aborted }))).toEqual([2, 4]);
  });

  it("keeps non-transactional records of an aborting producer id, and everything when nothing was aborted", () => {
    const messages = [record(0, "p1"), record(1, "p1", false), marker(2, "p1", 0)];
    expect(
      offsets(filterAbortedMessages({ messages, abortedTransactions: [{ producerId: "p1", firstOffset: "0" }] })),
    ).toEqual([1]);
    expect(offsets(filterAbortedMessages({ messages, abortedTransactions: [] }))).toEqual([0, 1]);
  });

  it("takes the aborted transactions in offset order whatever order they come in", () => {
    const messages = [record(5, "p2"), record(6, "p1"), record(7, "p3")];
    const aborted = [
      { producerId: "p2", firstOffset: "4" },
      { producerId: "p1", firstOffset: "2" },
    ];
    expect(offsets(filterAbortedMessages({ messages, abortedTransactions: aborted }))).toEqual([7]);
  });
});
