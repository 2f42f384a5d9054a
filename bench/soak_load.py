"""The soak's clients (bench/soak.py): keep-alive HTTP clients posting batches of 100 events at a set rate,
and websocket listeners counting the live pushes."""

import asyncio
import json
import random
import time
from collections import Counter
from datetime import UTC, datetime

import websockets


def make_body(rng: random.Random) -> bytes:
    now = datetime.now(UTC).isoformat()
    events = [
        {"name": rng.choice(["order.completed", "page.viewed", "user.signup", "feature.used"]), "timestamp": now,
         "tags": {"channel": rng.choice(["web", "ios", "android"]), "region": rng.choice(["eu", "us", "apac"]),
                  "plan": rng.choice(["free", "pro"])},
         "value": round(rng.uniform(1, 500), 3), "user_id": f"u_{rng.randint(1, 50_000)}", "properties": {}}
        for _ in range(100)
    ]  # fmt: skip
    return json.dumps({"events": events, "metrics": []}).encode()


class Load:
    """Keep-alive clients posting batches of 100; `rate` items/s in total (None: as fast as they can)."""

    def __init__(self, port: int, key: str) -> None:
        self.port, self.key = port, key
        self.rng = random.Random(15)
        self.bodies = [make_body(self.rng) for _ in range(16)]
        self.done: list[tuple[float, float]] = []  # (finished at, latency) of acknowledged batches
        self.failures: list[str] = []

    def request(self) -> bytes:
        body = self.rng.choice(self.bodies)
        head = (f"POST /api/v1/flux/batch HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\nAuthorization: Bearer {self.key}"
                f"\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n")  # fmt: skip
        return head.encode() + body

    async def refresh_bodies(self, deadline: float) -> None:
        while time.monotonic() < deadline:  # event times follow the clock, as a live app's do
            await asyncio.sleep(5)
            self.bodies = [make_body(self.rng) for _ in range(16)]

    async def client(self, deadline: float, interval: float | None) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
        next_send = time.monotonic() + (random.random() * interval if interval else 0)
        while time.monotonic() < deadline:
            if interval:
                await asyncio.sleep(max(0.0, next_send - time.monotonic()))
                next_send = max(next_send + interval, time.monotonic() - 1)  # catch up, but not in a burst
            started = time.monotonic()
            writer.write(self.request())
            status = await reader.readline()
            length = 0
            while (line := await reader.readline()) not in (b"\r\n", b""):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            await reader.readexactly(length)
            if b" 202 " in status:
                self.done.append((time.monotonic(), time.monotonic() - started))
            else:
                self.failures.append(status.decode().strip())
        writer.close()

    async def run(self, clients: int, seconds: float, rate: float | None) -> None:
        deadline = time.monotonic() + seconds
        interval = clients * 100 / rate if rate else None
        await asyncio.gather(self.refresh_bodies(deadline), *(self.client(deadline, interval) for _ in range(clients)))


async def listen(url: str, headers: dict, first: dict | None, received: Counter, name: str) -> None:
    async with websockets.connect(url, additional_headers=headers, max_size=None) as socket_:
        if first:
            await socket_.send(json.dumps(first))
        async for _ in socket_:
            received[name] += 1
