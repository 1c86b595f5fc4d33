/**
 * The clients the exactly-once path can run on: kafkajs (a producer per input partition, a
 * transaction per partition's batch) or librdkafka (one producer, one transaction over every
 * owned partition; eos-processor.ts). Apart so settings can name them without loading either.
 */
export const eosClients = ["kafkajs", "librdkafka"] as const;
export type EosClient = (typeof eosClients)[number];
