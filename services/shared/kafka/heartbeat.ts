// A consumer in a group heartbeats only between fetches and when its batch handler calls
// `heartbeat()`. A handler that waits on something slow (a ClickHouse insert, a state restore)
// longer than the session timeout loses its partitions, and the rebalance that follows starts the
// slow work over again. These helpers keep the member alive while it waits.

/** kafkajs' default heartbeat interval: ten of them fit into the 30 s session timeout. */
export const heartbeatEveryMs = 3000;

/**
 * Heartbeats until cleared. A failed heartbeat is passed to `onError` (by default ignored: a
 * rebalance under way also fails the commit after the wait).
 */
export function keepHeartbeating(
  heartbeat: () => Promise<void>,
  onError: (error: unknown) => void = () => undefined,
  everyMs = heartbeatEveryMs,
): NodeJS.Timeout {
  return setInterval(() => {
    heartbeat().catch(onError);
  }, everyMs);
}

/**
 * Whether a heartbeat failed because the group is rebalancing or no longer knows this member: the
 * member has to return from its batch handler so the client can join again.
 */
export function isRebalanceError(error: unknown): boolean {
  const type = (error as { type?: unknown } | null)?.type;
  return (
    type === "REBALANCE_IN_PROGRESS" ||
    type === "ILLEGAL_GENERATION" ||
    type === "UNKNOWN_MEMBER_ID" ||
    type === "NOT_COORDINATOR_FOR_GROUP"
  );
}
