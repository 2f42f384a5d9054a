import asyncio
import logging
import signal

from django.conf import settings
from django.core.management.base import BaseCommand

from flux.statsd.server import NoProject, serve

logger = logging.getLogger("flux.statsd")


class Command(BaseCommand):
    help = (
        "Listen for StatsD/DogStatsD lines on UDP (FLUX_STATSD_HOST:FLUX_STATSD_PORT) and store them in the "
        "project of FLUX_STATSD_KEY, aggregated every FLUX_STATSD_FLUSH_SECONDS. Without a usable key or port "
        "it says why and idles, so a Procfile's other processes keep running."
    )

    def add_arguments(self, parser: object) -> None:
        parser.add_argument("--host", default=settings.FLUX_STATSD_HOST)
        parser.add_argument("--port", type=int, default=settings.FLUX_STATSD_PORT)
        parser.add_argument("--flush-seconds", type=float, default=settings.FLUX_STATSD_FLUSH_SECONDS)

    def handle(self, *args: object, host: str, port: int, flush_seconds: float, **options: object) -> None:
        asyncio.run(self.run(settings.FLUX_STATSD_KEY, host, port, flush_seconds))

    async def run(self, raw_key: str, host: str, port: int, flush_seconds: float) -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        try:
            totals = await serve(raw_key, host, port, flush_seconds, stop)
            logger.info("StatsD listener stopped: %s", totals)
            return
        except NoProject as error:
            logger.warning("StatsD listener disabled: %s", error)
        except OSError as error:  # e.g. the port is taken: say so, and keep the Procfile's others running
            logger.error("StatsD listener disabled: cannot listen on udp://%s:%s: %s", host, port, error)
        await stop.wait()
