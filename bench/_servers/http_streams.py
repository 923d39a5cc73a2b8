"""The CPython HTTP/1.1 servers of http.bench.ts: asyncio streams, the same work as the
JavaScript servers (bench/_servers/_http-request.ts): `readuntil(b'\\r\\n\\r\\n')`, a minimal
parse of the request line and headers, one fixed small response, `drain()`.

    python3 bench/_servers/http_streams.py asyncio|uvloop

Listens on 127.0.0.1 with an OS port, printed as `PORT n`; TCP_NODELAY on every connection.
Exits when stdin closes, on SIGTERM, or after MAX_SECONDS.
"""

import asyncio
import os
import signal
import socket
import sys
import threading

MAX_REQUESTS = 100_000_000
MAX_SECONDS = 600
HEAD_END = b'\r\n\r\n'
RESPONSE = b'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 13\r\n\r\nHello, World!'


def parse_head(head):
    """What parseHead() of _http-request.ts does: (method, target, keep_alive, header_count)."""
    text = head.decode()
    line_end = text.index('\r\n')
    request_line = text[:line_end]
    first_space = request_line.find(' ')
    last_space = request_line.rfind(' ')
    if first_space <= 0 or last_space == first_space:
        raise ValueError(f'bad request line {request_line!r}')
    version = request_line[last_space + 1:]
    keep_alive = version == 'HTTP/1.1'
    if not keep_alive and version != 'HTTP/1.0':
        raise ValueError(f'bad HTTP version {version!r}')
    header_count = 0
    at = line_end + 2
    while at < len(text) - 2:
        next_line = text.index('\r\n', at)
        colon = text.find(':', at)
        if colon <= at or colon > next_line:
            raise ValueError(f'bad header line {text[at:next_line]!r}')
        name = text[at:colon].lower()
        value = text[colon + 1:next_line].strip()
        if name == 'connection':
            option = value.lower()
            if option == 'close':
                keep_alive = False
            elif option == 'keep-alive':
                keep_alive = True
        elif (name == 'content-length' and value != '0') or name == 'transfer-encoding':
            raise ValueError('a request with a body')
        header_count += 1
        at = next_line + 2
    return request_line[:first_space], request_line[first_space + 1:last_space], keep_alive, header_count


async def serve(reader, writer):
    sock = writer.get_extra_info('socket')
    if sock is not None:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        for _ in range(MAX_REQUESTS):
            _, _, keep_alive, _ = parse_head(await reader.readuntil(HEAD_END))
            writer.write(RESPONSE)
            await writer.drain()
            if not keep_alive:
                break
    except asyncio.IncompleteReadError as error:
        if error.partial:
            print(f'py: {error!r}', file=sys.stderr)
    except (ConnectionError, OSError, ValueError, asyncio.LimitOverrunError) as error:
        print(f'py: {error!r}', file=sys.stderr)
    writer.close()


def exit_when_stdin_closes():
    sys.stdin.buffer.read()
    os._exit(0)


async def main():
    server = await asyncio.start_server(serve, '127.0.0.1', 0)
    port = server.sockets[0].getsockname()[1]
    print(f'PORT {port}', flush=True)
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, lambda: os._exit(0))
    loop.call_later(MAX_SECONDS, lambda: os._exit(2))
    async with server:
        await server.serve_forever()


if __name__ == '__main__':
    loop_name = sys.argv[1] if len(sys.argv) > 1 else ''
    if loop_name not in ('asyncio', 'uvloop'):
        raise SystemExit('usage: http_streams.py asyncio|uvloop')
    threading.Thread(target=exit_when_stdin_closes, daemon=True).start()
    if loop_name == 'uvloop':
        import uvloop

        uvloop.install()
    asyncio.run(main())
