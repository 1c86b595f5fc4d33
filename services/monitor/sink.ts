// Consumes a topic into a ClickHouse table (the Kafka side is the shared sink consumer): each fetched
// batch becomes one RowBinary insert. ClickHouse 18.16 does not de-duplicate inserts, so a retried
// batch reuses its query id, which ClickHouse never runs twice at once, and rows carry their source
// partition and offset, so that `storedOffsetsQuery` tells which records are already stored.
import type { ClickHouse } from "../shared/clickhouse/client.ts";
import type { EncodedRows } from "../shared/clickhouse/row-binary.ts";
import type { KafkaMessage, Message } from "../shared/kafka/client.ts";
import { createSinkConsumer, type Sink, type SinkConsumerOptions } from "../shared/kafka/sink-consumer.ts";

export type { Sink };

/** A batch's rows, as objects (for `onStored`) and encoded for the insert. */
export interface SinkRows<Row> {
  rows: Row[];
  encoded: EncodedRows;
  /** Records that could not become rows, for `deadLetterTopic`, committed with the batch's offsets. */
  deadLetters?: Message[];
}

export interface SinkOptions<Row> extends Omit<SinkConsumerOptions<Row>, "storeName" | "storedOffsets" | "prepare"> {
  clickhouse: ClickHouse;
  table: string;
  /** Highest stored offset per partition, from the table (for skipping replays). */
  storedOffsetsQuery: string;
  /** Rows for a batch; records that cannot become rows are dead-lettered by the caller and left out. */
  toRows(partition: number, messages: KafkaMessage[]): Promise<SinkRows<Row>>;
}

export function createSink<Row>(options: SinkOptions<Row>): Sink {
  const { clickhouse, table, storedOffsetsQuery, toRows, ...consumer } = options;
  return createSinkConsumer<Row>({
    ...consumer,
    storeName: table,
    async storedOffsets() {
      const rows = await clickhouse.query<{ partition: number; offset: string }>(storedOffsetsQuery);
      return new Map(rows.map((r) => [Number(r.partition), BigInt(r.offset)]));
    },
    async prepare(partition, messages) {
      const { rows, encoded, deadLetters } = await toRows(partition, messages);
      return {
        rows,
        deadLetters,
        async write(batchId) {
          await clickhouse.insertRowBinary(table, encoded, { queryId: batchId });
          return encoded.rows;
        },
      };
    },
  });
}
