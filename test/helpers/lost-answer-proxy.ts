// A loopback TCP proxy in front of ClickHouse's HTTP port that loses the answer to the first INSERT:
// the request reaches the server, which stores the rows and answers, and the proxy then closes the
// client's connection without passing the answer on, as a server that dies after writing would.
import { type AddressInfo, connect, createServer, type Socket } from "node:net";

export interface LostAnswerProxy {
  /** The URL to give the client instead of ClickHouse's. */
  readonly url: string;
  /** The status line of the answer that was withheld, once one was. */
  readonly lostAnswer: string | undefined;
  close(): Promise<void>;
}

/**
 * Whether a chunk from the client starts an HTTP request whose `query` parameter is an INSERT.
 * Clients send one request at a time per connection, so a request starts a chunk.
 */
function startsInsert(chunk: Buffer): boolean {
  const line = /^POST (\S+) HTTP\/1\.1\r\n/.exec(chunk.subarray(0, 8192).toString("latin1"));
  if (!line?.[1]) return false;
  const query = new URL(line[1], "http://proxy").searchParams.get("query") ?? "";
  return /^\s*INSERT\b/i.test(query);
}

/** Whether `answer` holds a whole HTTP response (ClickHouse answers chunked or with a length). */
function isComplete(answer: Buffer): boolean {
  const text = answer.toString("latin1");
  const headerEnd = text.indexOf("\r\n\r\n");
  if (headerEnd < 0) return false;
  const headers = text.slice(0, headerEnd);
  const body = text.slice(headerEnd + 4);
  if (/^transfer-encoding:\s*chunked/im.test(headers)) return body.endsWith("0\r\n\r\n");
  const length = /^content-length:\s*(\d+)/im.exec(headers)?.[1];
  return length !== undefined && Buffer.byteLength(body, "latin1") >= Number(length);
}

export async function startLostAnswerProxy(target: string): Promise<LostAnswerProxy> {
  const upstreamUrl = new URL(target);
  let armed = true;
  let lostAnswer: string | undefined;
  const sockets = new Set<Socket>();

  const server = createServer((client) => {
    const upstream = connect(Number(upstreamUrl.port), upstreamUrl.hostname);
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on("close", () => sockets.delete(socket));
    }
    let withheld: Buffer | undefined;
    const lose = () => {
      lostAnswer = withheld?.toString("latin1").split("\r\n")[0] ?? "";
      client.destroy();
      upstream.destroy();
    };

    client.on("data", (chunk: Buffer) => {
      if (armed && startsInsert(chunk)) {
        armed = false;
        withheld = Buffer.alloc(0);
      }
      upstream.write(chunk);
    });
    upstream.on("data", (chunk: Buffer) => {
      if (withheld === undefined) {
        client.write(chunk);
        return;
      }
      withheld = Buffer.concat([withheld, chunk]);
      if (isComplete(withheld)) lose();
    });
    client.on("end", () => upstream.end());
    upstream.on("end", () => (withheld === undefined ? client.end() : lose()));
    client.on("error", () => upstream.destroy());
    upstream.on("error", () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    get lostAnswer() {
      return lostAnswer;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
