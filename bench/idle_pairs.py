"""Idle connection pairs for idle-memory.bench.ts: PAIRS connections over 127.0.0.1, client and
server in one process, opened 50 at a time and left idle with both ends referenced; RSS per pair
after gc.collect(), minus the same before opening. Prints one `RESULT {json}` line.

    python3 bench/idle_pairs.py asyncio|uvloop PAIRS
"""
import asyncio
import gc
import json
import os
import resource
import sys
import time

HOST = '127.0.0.1'
IN_FLIGHT = 50


def rss_bytes():
    with open('/proc/self/statm') as statm:
        return int(statm.read().split()[1]) * os.sysconf('SC_PAGE_SIZE')


async def measure(pairs):
    held = []
    accepted = 0
    all_accepted = asyncio.Event()

    def on_client(reader, writer):
        nonlocal accepted
        # Referenced, as ours are: a StreamWriter that is collected closes its transport.
        held.append((reader, writer))
        accepted += 1
        if accepted == pairs:
            all_accepted.set()

    server = await asyncio.start_server(on_client, HOST, 0)
    port = server.sockets[0].getsockname()[1]
    gc.collect()
    before = rss_bytes()
    start = time.perf_counter()
    for done in range(0, pairs, IN_FLIGHT):
        batch = min(IN_FLIGHT, pairs - done)
        held.extend(await asyncio.gather(*(asyncio.open_connection(HOST, port) for _ in range(batch))))
    await all_accepted.wait()
    seconds = time.perf_counter() - start
    for _ in range(4):
        gc.collect()
        await asyncio.sleep(0.05)
    after = rss_bytes()
    usage = resource.getrusage(resource.RUSAGE_SELF)
    result = {
        'seconds': seconds,
        'passes': [seconds],
        'bytes': 0,
        'items': pairs,
        'digest': f'idle-{pairs}',
        'cpuSeconds': usage.ru_utime + usage.ru_stime,
        'maxRssMB': usage.ru_maxrss / 1024,
        'runtime': f'CPython {sys.version.split()[0]}',
        'values': {'rssPerPair': (after - before) / pairs},
    }
    print('RESULT ' + json.dumps(result), flush=True)
    server.close()
    # Closing every socket one by one measures nothing: the process's end closes them.
    os._exit(0)


def main():
    loop_name, pairs = sys.argv[1], int(sys.argv[2])
    if loop_name == 'uvloop':
        import uvloop
        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    elif loop_name != 'asyncio':
        raise SystemExit('usage: idle_pairs.py asyncio|uvloop PAIRS')
    asyncio.run(measure(pairs))


if __name__ == '__main__':
    main()
