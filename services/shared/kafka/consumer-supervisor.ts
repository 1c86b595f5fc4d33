// Keeps a consumer alive through broker outages. kafkajs restarts a consumer after most crashes,
// but gives it up for good after some (no group coordinator within its retries while a broker
// restarts, or a member fenced after a long pause); this starts such a consumer again, with
// backoff, for as long as the service has not stopped it, so the process rides the outage out
// instead of exiting for a supervisor to restart it. `consumerTrouble` says meanwhile why the
// consumer cannot work (down, or no answer from the broker for a while), for the service's readiness.
import { setTimeout as sleep } from "node:timers/promises";
import { describeError } from "../errors.ts";
import type { Logger } from "../logger.ts";
import type { Consumer, ConsumerRunConfig } from "./client.ts";

/** No fetch and no heartbeat answered for this long: the broker is taken to be away. */
export const brokerSilenceMs = 20_000;
const firstBackoffMs = 500;
const maxBackoffMs = 10_000;

interface SupervisedState {
  /** Why the consumer is down, from its crash until it has joined its group again. */
  down: string | undefined;
  lastContactAt: number;
  /** The service's run() settings, to start it again with; unset until it first runs. */
  runConfig: ConsumerRunConfig | undefined;
  /** Set by the service's disconnect(): a stopped consumer is never revived. */
  stopped: boolean;
  /** A crash kafkajs does not restart happened and no new start has been tried since. */
  needsRevive: boolean;
  reviving: boolean;
  attempts: number;
}

const states = new WeakMap<Consumer, SupervisedState>();

export function superviseConsumer(consumer: Consumer, log: Logger): void {
  const state: SupervisedState = {
    down: undefined,
    lastContactAt: Date.now(),
    runConfig: undefined,
    stopped: false,
    needsRevive: false,
    reviving: false,
    attempts: 0,
  };
  states.set(consumer, state);
  const contact = () => {
    state.lastContactAt = Date.now();
  };
  consumer.on(consumer.events.FETCH, contact);
  consumer.on(consumer.events.HEARTBEAT, contact);
  consumer.on(consumer.events.GROUP_JOIN, () => {
    contact();
    state.down = undefined;
    state.attempts = 0;
  });
  consumer.on(consumer.events.CRASH, ({ payload }) => {
    state.down = payload.error.message;
    if (payload.restart || state.stopped) return;
    log.error(
      { groupId: payload.groupId, error: payload.error.message },
      "consumer crashed and kafkajs gave it up; starting it again",
    );
    state.needsRevive = true;
    void revive();
  });

  const connect = consumer.connect.bind(consumer);
  const run = consumer.run.bind(consumer);
  const disconnect = consumer.disconnect.bind(consumer);
  consumer.connect = async () => {
    state.stopped = false;
    await connect();
  };
  consumer.run = async (config) => {
    state.runConfig = config;
    await run(config);
  };
  consumer.disconnect = async () => {
    state.stopped = true;
    await disconnect();
  };

  async function revive(): Promise<void> {
    // A start that crashes again (the broker still away) asks for another round of this loop.
    if (state.reviving) return;
    state.reviving = true;
    try {
      while (state.needsRevive && !state.stopped && state.runConfig) {
        state.needsRevive = false;
        state.attempts += 1;
        const backoffMs = Math.min(maxBackoffMs, firstBackoffMs * 2 ** (state.attempts - 1));
        await sleep(backoffMs);
        if (state.stopped) return;
        try {
          await connect();
          await run(state.runConfig);
          // Stopped while starting: the service's disconnect may have run before this start.
          if (state.stopped) await disconnect();
        } catch (error) {
          log.warn({ error: describeError(error), attempt: state.attempts }, "consumer did not start; retrying");
          await disconnect().catch(() => undefined);
          state.needsRevive = true;
        }
      }
    } finally {
      state.reviving = false;
    }
  }
}

/** Why a supervised consumer cannot work right now, or undefined (also before it runs and after it stops). */
export function consumerTrouble(consumer: Consumer): string | undefined {
  const state = states.get(consumer);
  if (!state || state.stopped || !state.runConfig) return undefined;
  if (state.down) return `consumer down (${state.down}); starting it again`;
  const silentMs = Date.now() - state.lastContactAt;
  if (silentMs > brokerSilenceMs) return `no answer from the broker for ${Math.round(silentMs / 1000)} s`;
  return undefined;
}
