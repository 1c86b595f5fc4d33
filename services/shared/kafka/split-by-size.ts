// Splits a list of messages into groups whose keys and values add up to at most `maxBytes`, so one
// produce request never exceeds the broker's message.max.bytes (1 MiB by default): kafkajs sends
// all messages of a call for a partition as one record batch and does not split it.
import type { Message } from "./client.ts";

function size(value: Message["key"] | Message["value"]): number {
  if (value === null || value === undefined) return 0;
  return typeof value === "string" ? Buffer.byteLength(value) : value.length;
}

export function splitBySize(messages: readonly Message[], maxBytes: number): Message[][] {
  const groups: Message[][] = [];
  let current: Message[] = [];
  let bytes = 0;
  for (const message of messages) {
    // Per-record overhead (offsets, lengths, headers) is small; 64 bytes keeps a margin.
    const cost = size(message.key) + size(message.value) + 64;
    if (current.length > 0 && bytes + cost > maxBytes) {
      groups.push(current);
      current = [];
      bytes = 0;
    }
    current.push(message);
    bytes += cost;
  }
  if (current.length > 0) groups.push(current);
  return groups;
}
