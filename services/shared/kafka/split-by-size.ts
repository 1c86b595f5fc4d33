// Splits a list of messages into groups whose keys and values add up to at most `maxBytes`, so one
// produce request never exceeds the broker's message.max.bytes (1 MiB by default): kafkajs sends
// all messages of a call for a partition as one record batch and does not split it.
import type { Message } from "./client.ts";

function size(value: Message["key"] | Message["value"]): number {
  if (value === null || value === undefined) return 0;
  return typeof value === "string" ? Buffer.byteLength(value) : value.length;
}

/** Per-record overhead (offsets, lengths, headers) is small; 64 bytes keeps a margin. */
function cost(message: Message): number {
  return size(message.key) + size(message.value) + 64;
}

export function splitBySize(messages: readonly Message[], maxBytes: number): Message[][] {
  return splitTopicsBySize([{ topic: "", messages }], maxBytes).map((request) => request.flatMap((t) => t.messages));
}

export interface TopicMessages {
  topic: string;
  messages: Message[];
}

/**
 * Packs the messages of several topics into as few produce requests as fit `maxBytes` each,
 * keeping every topic's order: one request per transaction is one round trip, where a request per
 * topic would be one each. Topics without messages are left out.
 */
export function splitTopicsBySize(
  outputs: ReadonlyArray<{ topic: string; messages: readonly Message[] }>,
  maxBytes: number,
): TopicMessages[][] {
  const requests: TopicMessages[][] = [];
  let request: TopicMessages[] = [];
  let bytes = 0;
  for (const { topic, messages } of outputs) {
    let current: TopicMessages | undefined;
    for (const message of messages) {
      const c = cost(message);
      if (bytes > 0 && bytes + c > maxBytes) {
        requests.push(request);
        request = [];
        current = undefined;
        bytes = 0;
      }
      if (!current) {
        current = { topic, messages: [] };
        request.push(current);
      }
      current.messages.push(message);
      bytes += c;
    }
  }
  if (request.length > 0) requests.push(request);
  return requests;
}
