"""The CPython echo servers of echo.bench.ts: asyncio streams, as the asyncio docs' echo server.

    python3 bench/_servers/echo_streams.py asyncio|uvloop read|exact [MESSAGE_SIZE]

`read`: loop `data = await reader.read(65536)`, `writer.write(data)`, `await writer.drain()`;
`exact`: the same with `readexactly(MESSAGE_SIZE)`. Listens on 127.0.0.1 with an OS port,
printed as `PORT n`; TCP_NODELAY on every connection. Exits when stdin closes, on SIGTERM, or
after MAX_SECONDS.
"""

import asyncio
import os
import signal
import socket
import sys
import threading

MAX_ECHOES = 100_000_000
MAX_SECONDS = 600


async def echo_read(reader, writer):
    for _ in range(MAX_ECHOES):
        data = await reader.read(65536)
        if not data:
            break
        writer.write(data)
        await writer.drain()
    writer.close()


def make_echo_exact(size):
    async def echo_exact(reader, writer):
        try:
            for _ in range(MAX_ECHOES):
                writer.write(await reader.readexactly(size))
                await writer.drain()
        except asyncio.IncompleteReadError as error:
            if error.partial:
                raise
        writer.close()

    return echo_exact


def set_nodelay(handler):
    async def wrapped(reader, writer):
        sock = writer.get_extra_info('socket')
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            await handler(reader, writer)
        except (ConnectionError, OSError):
            writer.close()

    return wrapped


def exit_when_stdin_closes():
    sys.stdin.buffer.read()
    os._exit(0)


async def main(mode, size):
    handler = echo_read if mode == 'read' else make_echo_exact(size)
    server = await asyncio.start_server(set_nodelay(handler), '127.0.0.1', 0)
    port = server.sockets[0].getsockname()[1]
    print(f'PORT {port}', flush=True)
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, lambda: os._exit(0))
    loop.call_later(MAX_SECONDS, lambda: os._exit(2))
    async with server:
        await server.serve_forever()


if __name__ == '__main__':
    loop_name, mode = sys.argv[1], sys.argv[2]
    size = int(sys.argv[3]) if len(sys.argv) > 3 else 1024
    if loop_name not in ('asyncio', 'uvloop') or mode not in ('read', 'exact'):
        raise SystemExit('usage: echo_streams.py asyncio|uvloop read|exact [MESSAGE_SIZE]')
    threading.Thread(target=exit_when_stdin_closes, daemon=True).start()
    if loop_name == 'uvloop':
        import uvloop

        uvloop.install()
    asyncio.run(main(mode, size))
