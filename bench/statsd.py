"""StatsD listener benchmark: packets/s over loopback UDP, parsed, aggregated and flushed to the database.

    make bench-statsd                            # or, with the services' environment set:
    python bench/statsd.py --packets 400000 --lines 1 --senders 1

Runs the real listener (`flux.statsd.server.serve`, flushing every 2 s through `ingest`) in this process
for a project named statsd-bench in DATABASE_URL's database, and N sender processes that send their share
of the packets as fast as they can (or at --rate packets/s in total). Each packet holds --lines lines from
a realistic mix (tagged counters, gauges, timers, sets). Prints sent, received, parsed, stored and dropped
(sent but never received: the kernel's socket buffer overflowed while the listener was busy), with rates;
the receiving time ends at the last packet read.
The ingest items rate limit is off here: it is a per-project policy, not the listener's cost.
"""

import argparse
import asyncio
import multiprocessing
import os
import random
import socket
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "flux.settings")
os.environ["FLUX_INGEST_ITEMS_PER_SECOND"] = "0"


def sample_lines(rng: random.Random, count: int) -> list[bytes]:
    templates = [
        lambda: f"shop.orders:1|c|#region:{rng.choice(['eu', 'us', 'ap'])},plan:{rng.choice(['free', 'pro'])}",
        lambda: f"shop.requests:1|c|@0.5|#route:/p/{rng.randint(1, 20)}",
        lambda: f"shop.queue.depth:{rng.randint(0, 500)}|g|#queue:{rng.choice(['mail', 'jobs'])}",
        lambda: f"shop.latency:{rng.uniform(1, 800):.2f}|ms|#route:/p/{rng.randint(1, 20)}",
        lambda: f"shop.visitors:u{rng.randint(1, 5000)}|s",
    ]
    return [rng.choice(templates)().encode() for _ in range(count)]


def send(port: int, packets: int, lines: int, rate: float, seed: int) -> None:
    rng = random.Random(seed)
    pool = [b"\n".join(sample_lines(rng, lines)) for _ in range(1000)]
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    address = ("127.0.0.1", port)
    started = time.perf_counter()
    for sent in range(packets):
        sock.sendto(pool[sent % len(pool)], address)
        if rate and sent % 100 == 0:
            ahead = sent / rate - (time.perf_counter() - started)
            if ahead > 0:
                time.sleep(ahead)


async def watch_receiving(aggregator: object) -> float:
    """When the last packet was read: the first moment after which nothing more arrived for a second."""
    seen, last_change = -1, time.perf_counter()
    while time.perf_counter() - last_change < 1.0:
        with aggregator.lock:
            packets = aggregator.received_total
        if packets != seen:
            seen, last_change = packets, time.perf_counter()
        await asyncio.sleep(0.005)
    return last_change


async def run(args: argparse.Namespace) -> None:
    import django

    django.setup()
    from flux.statsd import server
    from flux.statsd.aggregate import Aggregator
    from flux.tenants.models import Project
    from flux.tenants.services import create_project, issue_key, revoke_key

    project = await asyncio.to_thread(
        lambda: (
            Project.objects.filter(slug="statsd-bench").first() or create_project("StatsD bench", slug="statsd-bench")
        )
    )
    port_socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    port_socket.bind(("127.0.0.1", 0))
    port = port_socket.getsockname()[1]
    port_socket.close()
    stop, aggregator = asyncio.Event(), Aggregator()
    issued = await asyncio.to_thread(issue_key, project, "ingest", "statsd bench")
    listening = asyncio.create_task(
        server.serve(issued.raw_key, "127.0.0.1", port, args.flush_seconds, stop, aggregator)
    )
    await asyncio.sleep(0.5)
    share = args.packets // args.senders
    senders = [
        multiprocessing.Process(target=send, args=(port, share, args.lines, args.rate / args.senders, seed))
        for seed in range(args.senders)
    ]
    started = time.perf_counter()
    for process in senders:
        process.start()
    watching = asyncio.create_task(watch_receiving(aggregator))
    await asyncio.to_thread(lambda: [process.join() for process in senders])
    sent_seconds = time.perf_counter() - started
    received_seconds = await watching - started
    stop.set()
    totals = await listening
    await asyncio.to_thread(revoke_key, issued.api_key)
    stored_seconds = time.perf_counter() - started
    sent = share * args.senders
    received, lines = totals.packets, totals.lines
    print(f"senders {args.senders}, {args.lines} line(s) per packet, rate {args.rate or 'max'} (packets/s)")
    print(f"sent      {sent:>10,} packets in {sent_seconds:6.2f} s = {sent / sent_seconds:>10,.0f} packets/s")
    receive_rate = received / received_seconds
    print(f"received  {received:>10,} packets in {received_seconds:6.2f} s = {receive_rate:>10,.0f} packets/s")
    print(f"parsed    {lines:>10,} lines ({totals.bad_lines} bad)  = {lines / received_seconds:>10,.0f} lines/s")
    stored = totals.points_stored
    store_rate = stored / stored_seconds
    print(f"stored    {stored:>10,} points in {stored_seconds:6.2f} s = {store_rate:>10,.0f} points/s")
    print(f"dropped   {sent - received:>10,} packets ({(sent - received) / sent:.1%}), by the kernel's full buffer")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--packets", type=int, default=400_000)
    parser.add_argument("--lines", type=int, default=1, help="lines per packet")
    parser.add_argument("--senders", type=int, default=1, help="sender processes")
    parser.add_argument("--rate", type=float, default=0, help="total packets/s to pace at; 0 sends flat out")
    parser.add_argument("--flush-seconds", type=float, default=2.0)
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
