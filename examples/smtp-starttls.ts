/**
 * An SMTP-style STARTTLS exchange (RFC 3207): the connection starts in plain text, the server
 * offers `STARTTLS` in its `EHLO` reply, the client asks for it, the server answers `220`, and
 * both sides upgrade the same connection with `writer.startTls()`; the same reader then reads
 * what TLS decrypts. Only the greeting and the commands this needs are spoken (no mail).
 *
 * Run the server with `npx tsx examples/smtp-starttls.ts serve CERT.pem KEY.pem [port]` (it
 * prints `Serving on HOST:PORT`; try it with `openssl s_client -starttls smtp -connect HOST:PORT`),
 * and the client with `npx tsx examples/smtp-starttls.ts client HOST PORT CA.pem`. Importing it
 * runs nothing: `handleSmtp`, `startSmtpServer` and `smtpStartTls` are exported.
 */
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { openConnection, startServer, type Server, type StreamReader, type StreamWriter, type TlsOptions } from 'asyncio-streams';

const decoder = new TextDecoder();

/**
 * The server's side of one connection: a greeting, then one reply per command line until QUIT
 * or the end of the connection. `tls` is the certificate and key `STARTTLS` upgrades with.
 *
 * @example
 * ```ts
 * const server = await startServer((reader, writer) => handleSmtp(reader, writer, { cert, key }), '127.0.0.1', 2525);
 * ```
 */
export async function handleSmtp(reader: StreamReader, writer: StreamWriter, tls: TlsOptions, name = 'localhost'): Promise<void> {
  writer.write(`220 ${name} ESMTP asyncio-streams\r\n`);
  let secure = false;
  try {
    for (;;) {
      const line = decoder.decode(await reader.readline()).trimEnd();
      if (line === '' && reader.atEof()) break;
      const [command = '', ...rest] = line.split(' ');
      switch (command.toUpperCase()) {
        case 'EHLO':
          // A multi-line reply: `250-` on every line but the last, `250 ` on the last.
          writer.write(`250-${name} greets ${rest.join(' ') || 'you'}\r\n250-8BITMIME\r\n${secure ? '250 AUTH PLAIN' : '250 STARTTLS'}\r\n`);
          break;
        case 'STARTTLS':
          if (secure) {
            writer.write('503 Already in TLS\r\n');
            break;
          }
          writer.write('220 Ready to start TLS\r\n');
          // Sends the 220 first, then runs the server's side of the handshake on this connection.
          await writer.startTls(tls);
          secure = true;
          break;
        case 'NOOP':
          writer.write('250 OK\r\n');
          break;
        case 'QUIT':
          writer.write('221 Bye\r\n');
          return;
        default:
          writer.write('502 Command not implemented\r\n');
      }
      await writer.drain();
    }
  } finally {
    writer.close();
    await writer.waitClosed().catch(() => {});
  }
}

/**
 * Starts the server on `host:port` (port 0: the system picks one).
 *
 * @example
 * ```ts
 * const server = await startSmtpServer('127.0.0.1', 0, { cert, key });
 * ```
 */
export function startSmtpServer(host: string, port: number | string, tls: TlsOptions): Promise<Server> {
  return startServer((reader, writer) => handleSmtp(reader, writer, tls), host, port);
}

/** Reads one reply, all its lines (`250-...` up to `250 ...`), and checks its code. */
async function reply(reader: StreamReader, expected: string): Promise<string[]> {
  const lines: string[] = [];
  for (;;) {
    const line = decoder.decode(await reader.readuntil('\r\n')).trimEnd();
    lines.push(line);
    if (!line.startsWith(expected)) throw new Error(`Expected a ${expected} reply, got ${JSON.stringify(line)}`);
    if (line[3] !== '-') return lines;
  }
}

/**
 * The client's side: greeting, EHLO, STARTTLS, the handshake (verified against `tls.ca`, or the
 * default trust store), EHLO again over TLS, QUIT. Returns every reply line, in order.
 *
 * @example
 * ```ts
 * const transcript = await smtpStartTls('127.0.0.1', 2525, { ca }, 'localhost');
 * ```
 */
export async function smtpStartTls(host: string, port: number | string, tls: TlsOptions | true = true, serverHostname = host): Promise<string[]> {
  const [reader, writer] = await openConnection(host, port);
  try {
    const transcript = await reply(reader, '220');
    writer.write('EHLO client.example\r\n');
    const offer = await reply(reader, '250');
    transcript.push(...offer);
    if (!offer.some((line) => line.slice(4).toUpperCase() === 'STARTTLS')) throw new Error('The server does not offer STARTTLS');
    writer.write('STARTTLS\r\n');
    transcript.push(...(await reply(reader, '220')));
    await writer.startTls(tls, { serverHostname });
    writer.write('EHLO client.example\r\n');
    transcript.push(...(await reply(reader, '250')));
    writer.write('QUIT\r\n');
    transcript.push(...(await reply(reader, '221')));
    return transcript;
  } finally {
    writer.close();
    await writer.waitClosed().catch(() => {});
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const [mode, ...args] = process.argv.slice(2);
  if (mode === 'serve' && args.length >= 2) {
    const [cert, key, port = '2525'] = args;
    const server = await startSmtpServer('127.0.0.1', port, { cert: readFileSync(cert!, 'utf8'), key: readFileSync(key!, 'utf8') });
    const [host, bound] = server.sockets[0]!.getsockname() as [string, number];
    console.log(`Serving on ${host}:${bound}`);
    const stop = (): void => server.close();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    await server.waitClosed();
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  } else if (mode === 'client' && args.length === 3) {
    const [host, port, ca] = args;
    for (const line of await smtpStartTls(host!, port!, { ca: readFileSync(ca!, 'utf8') }, 'localhost')) console.log(line);
  } else {
    console.error('usage: npx tsx examples/smtp-starttls.ts serve CERT.pem KEY.pem [port] | client HOST PORT CA.pem');
    process.exitCode = 2;
  }
}
