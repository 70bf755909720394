#!/usr/bin/env python3
"""Idle SSE clients for bench/live.sh: stream_clients.py HOST PORT PATH N SERVER_PID TRIGGER

Opens N connections to PATH (HTTP/1.0, so the stream is the body as is), waits until every
one has its first "event: aggregate", reads the server's resident memory before and after,
then runs TRIGGER (a shell command that imports a document) and counts how many clients get
the next event, and how long the last one took. Prints one line of figures per step.
Python from Debian (meson's own interpreter); no package beyond the standard library."""
import asyncio
import resource
import subprocess
import sys
import time

host, port, path, n, pid, trigger = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), sys.argv[5], sys.argv[6]


def rss_kib():
    with open(f'/proc/{pid}/status') as f:
        for line in f:
            if line.startswith('VmRSS:'):
                return int(line.split()[1])
    raise RuntimeError('no VmRSS')


async def open_client():
    reader, writer = await asyncio.open_connection(host, port)
    writer.write(f'GET {path} HTTP/1.0\r\nHost: {host}\r\n\r\n'.encode())
    await writer.drain()
    await reader.readuntil(b'event: aggregate')
    await reader.readuntil(b'\n\n')
    return reader, writer


async def next_event(reader, start):
    await reader.readuntil(b'event: aggregate')
    await reader.readuntil(b'\n\n')
    return time.monotonic() - start


async def main():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    before = rss_kib()
    t0 = time.monotonic()
    clients = []
    for start in range(0, n, 500):  # connect in waves: the listen backlog is finite
        clients += await asyncio.gather(*(open_client() for _ in range(start, min(n, start + 500))))
    took = time.monotonic() - t0
    await asyncio.sleep(1)
    after = rss_kib()
    print(f'streams: {len(clients)} idle clients connected in {took:.1f} s, each with its first event')
    print(f'streams: server RSS {before} KiB before, {after} KiB with them: '
          f'{(after - before) * 1024 / len(clients):.0f} bytes per client')
    start = time.monotonic()
    subprocess.run(trigger, shell=True, check=True, stdout=subprocess.DEVNULL)
    delays = await asyncio.wait_for(asyncio.gather(*(next_event(r, start) for r, _ in clients)), 60)
    delays.sort()
    print(f'streams: one import reached {len(delays)} of {len(clients)} clients; '
          f'median {delays[len(delays) // 2] * 1e3:.0f} ms, last {delays[-1] * 1e3:.0f} ms after the import began')
    for _, w in clients:
        w.close()


asyncio.run(main())
