/**
 * A Redis client (the RESP2 protocol) on `readuntil` and `readexactly`: each reply starts with a
 * line (`+OK`, `-ERR ...`, `:42`, `$5`, `*3`), and a bulk string is exactly the number of bytes
 * its line announces, so binary values (`\r\n` inside, any byte) come back as they went in.
 *
 * Run with `npx tsx examples/redis-client.ts [host] [port]` against a running redis-server
 * (default 127.0.0.1:6379): it sends PING, SET and GET and prints the replies. Importing it runs
 * nothing: `RedisClient`, `encodeCommand` and `readReply` are exported.
 */
import { pathToFileURL } from 'node:url';
import { openConnection, type StreamReader, type StreamWriter } from 'asyncio-streams';

/** A reply: simple and error strings, integers, bulk strings (bytes), arrays, or null. */
export type RespValue = string | number | Uint8Array | RespError | null | RespValue[];

/** An error reply (`-ERR unknown command`), returned inside arrays, thrown by `call()`. */
export class RespError extends Error {
  override name = 'RespError';
}

const encoder = new TextEncoder();
/** RESP lines are ASCII; latin-1 decodes any byte without a replacement character. */
const latin1 = new TextDecoder('latin1');

/**
 * One command as RESP sends it: an array of bulk strings.
 *
 * @example
 * ```ts
 * writer.write(encodeCommand('SET', 'key', new Uint8Array([0, 13, 10, 255])));
 * ```
 */
export function encodeCommand(...args: Array<string | Uint8Array>): Uint8Array {
  const parts = args.map((arg) => (typeof arg === 'string' ? encoder.encode(arg) : arg));
  const chunks: Uint8Array[] = [encoder.encode(`*${parts.length}\r\n`)];
  for (const part of parts) chunks.push(encoder.encode(`$${part.byteLength}\r\n`), part, encoder.encode('\r\n'));
  return concat(chunks);
}

function concat(chunks: Uint8Array[]): Uint8Array {
  const all = new Uint8Array(chunks.reduce((sum, chunk) => sum + chunk.byteLength, 0));
  let offset = 0;
  for (const chunk of chunks) {
    all.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return all;
}

/**
 * Reads one reply. An error reply is returned as a `RespError`, not thrown, so that an array
 * holding one (from MULTI/EXEC) still reads whole.
 *
 * @throws {IncompleteReadError} when the connection ends inside a reply
 * @throws {Error} on bytes that are not RESP2
 * @example
 * ```ts
 * writer.write(encodeCommand('PING'));
 * console.log(await readReply(reader)); // 'PONG'
 * ```
 */
export async function readReply(reader: StreamReader): Promise<RespValue> {
  const line = await reader.readuntil('\r\n');
  const rest = latin1.decode(line.subarray(1, line.byteLength - 2));
  switch (line[0]) {
    case 0x2b: // '+'
      return rest;
    case 0x2d: // '-'
      return new RespError(rest);
    case 0x3a: // ':'
      return Number(rest);
    case 0x24: { // '$': the length, then exactly that many bytes and a CRLF
      const length = Number(rest);
      if (length === -1) return null;
      const data = await reader.readexactly(length + 2);
      return data.subarray(0, length);
    }
    case 0x2a: { // '*': the count, then that many replies
      const count = Number(rest);
      if (count === -1) return null;
      const items: RespValue[] = [];
      for (let i = 0; i < count; i++) items.push(await readReply(reader));
      return items;
    }
    default:
      throw new Error(`Not a RESP2 reply: ${JSON.stringify(latin1.decode(line))}`);
  }
}

/**
 * A connection to a Redis server: `call()` one command, or `pipeline()` many written at once.
 *
 * @example
 * ```ts
 * const redis = await RedisClient.connect('127.0.0.1', 6379);
 * await redis.call('SET', 'greeting', 'hello');
 * console.log(new TextDecoder().decode(await redis.call('GET', 'greeting') as Uint8Array));
 * await redis.close();
 * ```
 */
export class RedisClient {
  constructor(readonly reader: StreamReader, readonly writer: StreamWriter) {}

  static async connect(host = '127.0.0.1', port: number | string = 6379): Promise<RedisClient> {
    const [reader, writer] = await openConnection(host, port);
    return new RedisClient(reader, writer);
  }

  /** Sends one command and returns its reply; an error reply is thrown. */
  async call(...args: Array<string | Uint8Array>): Promise<RespValue> {
    this.writer.write(encodeCommand(...args));
    await this.writer.drain();
    const reply = await readReply(this.reader);
    if (reply instanceof RespError) throw reply;
    return reply;
  }

  /**
   * Writes every command at once, then reads every reply, in order (errors returned). One
   * `write()` of the joined commands: a chunk per command would cost a queue entry each.
   */
  async pipeline(commands: Array<Array<string | Uint8Array>>): Promise<RespValue[]> {
    this.writer.write(concat(commands.map((args) => encodeCommand(...args))));
    await this.writer.drain();
    const replies: RespValue[] = [];
    for (let i = 0; i < commands.length; i++) replies.push(await readReply(this.reader));
    return replies;
  }

  /** The next reply the server pushes (a message after SUBSCRIBE). */
  next(): Promise<RespValue> {
    return readReply(this.reader);
  }

  async close(): Promise<void> {
    this.writer.close();
    await this.writer.waitClosed();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const [host = '127.0.0.1', port = '6379'] = process.argv.slice(2);
  const redis = await RedisClient.connect(host, port);
  try {
    const show = (reply: RespValue) => (reply instanceof Uint8Array ? JSON.stringify(new TextDecoder().decode(reply)) : String(reply));
    console.log(`PING -> ${show(await redis.call('PING'))}`);
    console.log(`SET greeting -> ${show(await redis.call('SET', 'greeting', 'Hello\r\nWorld'))}`);
    console.log(`GET greeting -> ${show(await redis.call('GET', 'greeting'))}`);
  } finally {
    await redis.close();
  }
}
