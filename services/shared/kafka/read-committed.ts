// kafkajs drops the records of aborted transactions on the client, from the list of aborted
// transactions a fetch returns, but it starts tracking only one of them per record it reads. When a
// fetch begins inside two or more aborted transactions (several producers writing one partition, as
// the transformer's and inference's producers do, and fencing after a crash aborts them together),
// the records of all but the first leak through as if committed, and downstream they are processed
// twice. This module replaces kafkajs's filter with one that, as the Java consumer does, takes every
// aborted transaction that has begun by each record. It must be imported before kafkajs.
import { createRequire } from "node:module";

/** The parts of a fetched kafkajs message the filter reads. */
export interface FetchedMessage {
  offset: string;
  /** A control record's key is the marker: version (int16), then type (int16, 0 = abort). */
  key?: Buffer | null;
  isControlRecord?: boolean;
  batchContext: { producerId: string; inTransaction: boolean };
}

export interface AbortedTransaction {
  producerId: string;
  firstOffset: string;
}

/** An abort marker: a control record whose key says ABORT (type 0). */
function isAbortMarker(message: FetchedMessage): boolean {
  if (!message.isControlRecord || !message.key || message.key.length < 4) return false;
  return message.key.readInt16BE(2) === 0;
}

export function filterAbortedMessages<M extends FetchedMessage>({
  messages,
  abortedTransactions,
}: {
  messages: M[];
  abortedTransactions?: AbortedTransaction[];
}): M[] {
  if (!abortedTransactions?.length) return messages;
  const pending = [...abortedTransactions].sort((a, b) =>
    BigInt(a.firstOffset) < BigInt(b.firstOffset) ? -1 : BigInt(a.firstOffset) > BigInt(b.firstOffset) ? 1 : 0,
  );
  const aborting = new Set<string>();
  return messages.filter((message) => {
    const offset = BigInt(message.offset);
    // Every aborted transaction that has begun by this record, not just the next one.
    while (pending.length > 0 && offset >= BigInt((pending[0] as AbortedTransaction).firstOffset)) {
      aborting.add((pending.shift() as AbortedTransaction).producerId);
    }
    const { producerId, inTransaction } = message.batchContext;
    if (isAbortMarker(message)) {
      aborting.delete(producerId);
      return true;
    }
    return !(inTransaction && aborting.has(producerId));
  });
}

/** Puts this filter where kafkajs's consumer batches load theirs from; run before kafkajs is loaded. */
function install(): void {
  const require = createRequire(import.meta.url);
  const path = require.resolve("kafkajs/src/consumer/filterAbortedMessages.js");
  const cached = require.cache[path];
  if (cached?.loaded && cached.exports === filterAbortedMessages) return;
  require.cache[path] = { id: path, filename: path, loaded: true, exports: filterAbortedMessages } as NodeJS.Module;
}

install();
