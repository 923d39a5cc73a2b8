"""The one sender of bulk.bench.ts: connects to 127.0.0.1:PORT, sends TOTAL bytes with
blocking `sendall()` of a 1 MiB buffer (a C loop: the sender costs little more than its kernel
copy), half-closes, waits for the receiver to close, and prints `SENDER {"cpuSeconds": ...}`.

    /usr/bin/python3 bench/_servers/bulk_sender.py PORT TOTAL_BYTES
"""

import json
import resource
import socket
import sys

BLOCK = 1024 * 1024
TIMEOUT_SECONDS = 120


def main(port, total):
    if total % BLOCK:
        raise SystemExit(f'TOTAL_BYTES must be a multiple of {BLOCK}')
    block = bytes(i % 251 for i in range(BLOCK))
    with socket.create_connection(('127.0.0.1', port), timeout=TIMEOUT_SECONDS) as sock:
        for _ in range(total // BLOCK):
            sock.sendall(block)
        sock.shutdown(socket.SHUT_WR)
        # The receiver closes once it has read everything; nothing else should arrive.
        for _ in range(1000):
            if not sock.recv(65536):
                break
    usage = resource.getrusage(resource.RUSAGE_SELF)
    print('SENDER ' + json.dumps({'cpuSeconds': usage.ru_utime + usage.ru_stime}), flush=True)


if __name__ == '__main__':
    main(int(sys.argv[1]), int(sys.argv[2]))
