/**
 * "Get HTTP headers", the asyncio streams documentation's example, ported: sends a `HEAD`
 * request for a URL and prints each header line of the response.
 *
 * Run with `npx tsx examples/get-http-headers.ts http://example.com/path`. An https:// URL
 * connects with `ssl: true`, as the Python does: the server's certificate must verify against
 * Node's default trust store, which `NODE_EXTRA_CA_CERTS=ca.pem` extends (how the specs make
 * it trust their test CA). Unlike the Python, a port in the URL is used (the specs serve on a
 * port the system picks).
 */
import { openConnection } from 'asyncio-streams';

async function printHttpHeaders(address: string): Promise<void> {
  const url = new URL(address);
  // WHATWG URL keeps the brackets of an IPv6 hostname; urllib's `hostname` has none.
  const hostname = url.hostname.replace(/^\[(.*)\]$/, '$1');
  const [reader, writer] = url.protocol === 'https:'
    ? await openConnection(hostname, Number(url.port || 443), { ssl: true })
    : await openConnection(hostname, Number(url.port || 80));

  // An http(s) URL's pathname is never empty: '/' at least, as Python's `url.path or '/'`.
  const query =
    `HEAD ${url.pathname} HTTP/1.0\r\n` +
    `Host: ${url.hostname}\r\n` +
    `\r\n`;

  // The request is ASCII (URL parses to percent-encoded, punycode form): UTF-8 is latin-1 here.
  writer.write(query);
  // 'latin1' is WHATWG's label for windows-1252: Python's latin-1 except for bytes 0x80-0x9F.
  const latin1 = new TextDecoder('latin1');
  for (;;) {
    const data = await reader.readline();
    if (data.length === 0) {
      break;
    }

    const line = latin1.decode(data).trimEnd();
    if (line) {
      console.log(`HTTP header> ${line}`);
    }
  }

  // Ignore the body, close the socket
  writer.close();
  await writer.waitClosed();
}

const url = process.argv[2];
if (url === undefined) {
  console.error('usage: npx tsx examples/get-http-headers.ts URL');
  process.exitCode = 2;
} else {
  await printHttpHeaders(url);
}
