"""CPython side of the reader benchmarks: asyncio.StreamReader on the inputs of bench/_data.ts.

Run by bench/run.ts as `PYENV_VERSION=3.13.0 python3 bench/cpython_reader.py WORKLOAD MODE`:
  WORKLOAD  w1 (readline) or w2 (readexactly)
  MODE      drain:  feed_data(chunk), then read exactly the lines/frames that chunk completed
                    (the reader never waits), as the JS `ours-push` variant does
            sleep0: a feeder task does feed_data(chunk); await asyncio.sleep(0) per chunk while
                    the reader loops, so it waits once per chunk, as JS `ours-push-wait` does
Prints one line `RESULT {json}` like the JS variants. Input generation (the same LCG and draws
as bench/_data.ts, hence the same SHA-256) is outside the timed region; each pass is timed
from the first feed to the last read.
"""

import asyncio
import hashlib
import json
import resource
import statistics
import sys
import time

CHUNK_SIZE = 65536
LINES_TARGET_BYTES = 64 * 1024 * 1024
LINE_MIN = 20
LINE_MAX = 140
FRAME_COUNT = 200_000
FRAME_PAYLOAD = 100
ALPHABET_SIZE = 4096


class Lcg:
    """Numerical Recipes' 32-bit LCG, the one in bench/_data.ts."""

    def __init__(self, seed):
        self.state = seed & 0xFFFFFFFF

    def next16(self):
        self.state = (self.state * 1664525 + 1013904223) & 0xFFFFFFFF
        return self.state >> 16


def alphabet(lcg):
    return bytes(33 + lcg.next16() % 94 for _ in range(ALPHABET_SIZE))


def cut(data, ends):
    chunks = []
    items_ending_in = []
    nxt = 0
    for start in range(0, len(data), CHUNK_SIZE):
        end = min(start + CHUNK_SIZE, len(data))
        chunks.append(bytes(data[start:end]))
        count = 0
        while nxt < len(ends) and ends[nxt] <= end:
            count += 1
            nxt += 1
        items_ending_in.append(count)
    return chunks, items_ending_in, hashlib.sha256(data).hexdigest()


def line_input():
    lcg = Lcg(1)
    base = alphabet(lcg)
    parts = []
    ends = []
    size = 0
    while size < LINES_TARGET_BYTES:
        length = LINE_MIN + lcg.next16() % (LINE_MAX - LINE_MIN + 1)
        start = lcg.next16() % (ALPHABET_SIZE - LINE_MAX)
        parts.append(base[start:start + length - 1])
        parts.append(b"\n")
        size += length
        ends.append(size)
    data = b"".join(parts)
    return data, ends


def frame_input():
    lcg = Lcg(2)
    base = alphabet(lcg)
    header = FRAME_PAYLOAD.to_bytes(4, "big")
    parts = []
    ends = []
    at = 0
    for _ in range(FRAME_COUNT):
        start = lcg.next16() % (ALPHABET_SIZE - FRAME_PAYLOAD)
        parts.append(header)
        parts.append(base[start:start + FRAME_PAYLOAD])
        at += 4 + FRAME_PAYLOAD
        ends.append(at)
    return b"".join(parts), ends


async def readline_drain(chunks, counts):
    reader = asyncio.StreamReader()
    lines = total = 0
    for chunk, count in zip(chunks, counts):
        reader.feed_data(chunk)
        for _ in range(count):
            line = await reader.readline()
            lines += 1
            total += len(line)
    reader.feed_eof()
    while line := await reader.readline():
        lines += 1
        total += len(line)
    return total, lines


async def feeder(reader, chunks):
    for chunk in chunks:
        reader.feed_data(chunk)
        await asyncio.sleep(0)
    reader.feed_eof()


async def readline_sleep0(chunks, _counts):
    reader = asyncio.StreamReader()
    feeding = asyncio.get_running_loop().create_task(feeder(reader, chunks))
    lines = total = 0
    while line := await reader.readline():
        lines += 1
        total += len(line)
    await feeding
    return total, lines


async def read_frame(reader):
    header = await reader.readexactly(4)
    payload = await reader.readexactly(int.from_bytes(header, "big"))
    return 4 + len(payload)


async def readexactly_drain(chunks, counts):
    reader = asyncio.StreamReader()
    frames = total = 0
    for chunk, count in zip(chunks, counts):
        reader.feed_data(chunk)
        for _ in range(count):
            total += await read_frame(reader)
            frames += 1
    reader.feed_eof()
    if await reader.read():
        raise AssertionError("bytes left after the last frame")
    return total, frames


async def readexactly_sleep0(chunks, _counts):
    reader = asyncio.StreamReader()
    feeding = asyncio.get_running_loop().create_task(feeder(reader, chunks))
    frames = total = 0
    for _ in range(FRAME_COUNT):
        total += await read_frame(reader)
        frames += 1
    if await reader.read():
        raise AssertionError("bytes left after the last frame")
    await feeding
    return total, frames


PASSES = {
    ("w1", "drain"): readline_drain,
    ("w1", "sleep0"): readline_sleep0,
    ("w2", "drain"): readexactly_drain,
    ("w2", "sleep0"): readexactly_sleep0,
}


async def timed(run, chunks, counts):
    start = time.perf_counter()
    outcome = await run(chunks, counts)
    return time.perf_counter() - start, outcome


def main():
    workload, mode = sys.argv[1], sys.argv[2]
    reps = int(sys.argv[3]) if len(sys.argv) > 3 else (5 if workload == "w1" else 9)
    warmup = int(sys.argv[4]) if len(sys.argv) > 4 else 1
    run = PASSES[(workload, mode)]
    data, ends = line_input() if workload == "w1" else frame_input()
    chunks, counts, digest = cut(data, ends)
    size, items = len(data), len(ends)
    del data
    passes = []
    for i in range(warmup + reps):
        seconds, (total, count) = asyncio.run(timed(run, chunks, counts))
        if total != size or count != items:
            raise AssertionError(f"pass read {total} bytes / {count} items, expected {size} / {items}")
        if i >= warmup:
            passes.append(seconds)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    print("RESULT " + json.dumps({
        "seconds": statistics.median(passes),
        "passes": passes,
        "bytes": size,
        "items": items,
        "digest": digest,
        "cpuSeconds": usage.ru_utime + usage.ru_stime,
        "maxRssMB": usage.ru_maxrss / 1024,
        "runtime": "CPython " + sys.version.split()[0],
    }), flush=True)


if __name__ == "__main__":
    main()
