// The consumer supervisor on a consumer the test drives: a consumer kafkajs gives up is started
// again with the service's own run settings (again after a start that crashes too), one kafkajs
// restarts itself is left alone, a stopped one is never revived, and meanwhile the trouble is named.
import { EventEmitter } from "node:events";
import { setTimeout as sleep } from "node:timers/promises";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { Consumer } from "../../../services/shared/kafka/client.ts";
import {
  brokerSilenceMs,
  consumerTrouble,
  superviseConsumer,
} from "../../../services/shared/kafka/consumer-supervisor.ts";
import { createLogger } from "../../../services/shared/logger.ts";

const events = { CRASH: "crash", GROUP_JOIN: "join", FETCH: "fetch", HEARTBEAT: "heartbeat" };

/** A consumer whose events the test emits; counts connect/run/disconnect calls and what run() was given. */
function fakeConsumer(onRun: () => void = () => undefined) {
  const emitter = new EventEmitter();
  const calls = { connect: 0, run: 0, disconnect: 0, runConfigs: [] as unknown[] };
  const consumer = {
    events,
    on(event: string, listener: (e: unknown) => void) {
      emitter.on(event, listener);
      return () => emitter.off(event, listener);
    },
    async connect() {
      calls.connect += 1;
    },
    async run(config: unknown) {
      calls.run += 1;
      calls.runConfigs.push(config);
      onRun();
    },
    async disconnect() {
      calls.disconnect += 1;
    },
  };
  const emit = (event: string, payload: object = {}) => emitter.emit(event, { payload });
  return { consumer: consumer as unknown as Consumer, calls, emit };
}

const logger = createLogger({ name: "test", level: "fatal" });
const crash = (restart: boolean) => ({ error: new Error("no group coordinator"), groupId: "g", restart });

afterEach(() => {
  vi.useRealTimers();
});

describe("superviseConsumer", () => {
  it("starts a consumer kafkajs gave up on again, with the same run settings, and says it is down until it joins", async () => {
    const { consumer, calls, emit } = fakeConsumer();
    superviseConsumer(consumer, logger);
    await consumer.connect();
    const runConfig = { eachBatch: async () => undefined };
    await consumer.run(runConfig);
    expect(consumerTrouble(consumer)).toBeUndefined();

    emit(events.CRASH, crash(false));
    expect(consumerTrouble(consumer)).toMatch(/consumer down \(no group coordinator\)/);
    await vi.waitFor(() => expect(calls.run).toBe(2), { timeout: 3000 });
    expect(calls.connect).toBe(2);
    expect(calls.runConfigs[1]).toBe(runConfig);
    expect(consumerTrouble(consumer)).toMatch(/consumer down/);

    emit(events.GROUP_JOIN);
    expect(consumerTrouble(consumer)).toBeUndefined();
  });

  it("tries again when the new start crashes too (the broker still away)", async () => {
    let crashOnRun = 0;
    const state: { emit?: (event: string, payload?: object) => boolean } = {};
    const { consumer, calls, emit } = fakeConsumer(() => {
      // The second run (the first revival) crashes at once, as kafkajs does when the join fails.
      if (++crashOnRun === 2) state.emit?.(events.CRASH, crash(false));
    });
    state.emit = emit;
    superviseConsumer(consumer, logger);
    await consumer.connect();
    await consumer.run({});
    emit(events.CRASH, crash(false));
    await vi.waitFor(() => expect(calls.run).toBe(3), { timeout: 5000 });
  });

  it("leaves a consumer kafkajs restarts itself alone", async () => {
    const { consumer, calls, emit } = fakeConsumer();
    superviseConsumer(consumer, logger);
    await consumer.connect();
    await consumer.run({});
    emit(events.CRASH, crash(true));
    expect(consumerTrouble(consumer)).toMatch(/consumer down/);
    await sleep(800);
    expect(calls.run).toBe(1);
  });

  it("never revives a consumer the service stopped", async () => {
    const { consumer, calls, emit } = fakeConsumer();
    superviseConsumer(consumer, logger);
    await consumer.connect();
    await consumer.run({});
    await consumer.disconnect();
    emit(events.CRASH, crash(false));
    await sleep(800);
    expect(calls.run).toBe(1);
    expect(consumerTrouble(consumer)).toBeUndefined();
  });

  it("names a broker that answered no fetch and no heartbeat for longer than the limit", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    const { consumer, emit } = fakeConsumer();
    superviseConsumer(consumer, logger);
    await consumer.connect();
    await consumer.run({});
    vi.setSystemTime(Date.now() + brokerSilenceMs - 1000);
    expect(consumerTrouble(consumer)).toBeUndefined();
    emit(events.HEARTBEAT);
    vi.setSystemTime(Date.now() + brokerSilenceMs + 1000);
    expect(consumerTrouble(consumer)).toMatch(/no answer from the broker for 21 s/);
    emit(events.FETCH);
    expect(consumerTrouble(consumer)).toBeUndefined();
  });
});
