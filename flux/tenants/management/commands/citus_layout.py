"""`manage.py citus_layout [--project ID]`: where the distributed and reference tables' shards are."""

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection

from flux.storage.citus import citus_installed, project_placement, shards_per_node


class Command(BaseCommand):
    help = "Show the shards of each Citus table per node, or (--project) which shard and node hold a project."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--project", type=int, help="a project id: the shard and node of each distributed table")

    def handle(self, *args: object, project: int | None = None, **options: object) -> None:
        with connection.cursor() as cursor:
            if not citus_installed(cursor):
                raise CommandError("this database is not a Citus database (no citus extension)")
            if project is not None:
                self.stdout.write(f"{'table':32} {'shard':>8} {'node':22} {'bytes':>12}")
                for table, shard, node, size in project_placement(cursor, project):
                    self.stdout.write(f"{table:32} {shard:>8} {node:22} {size:>12}")
                return
            self.stdout.write(f"{'table':32} {'type':12} {'coloc':>5} {'node':22} {'shards':>6} {'bytes':>12}")
            for table, kind, colocation, node, shards, size in shards_per_node(cursor):
                self.stdout.write(f"{table:32} {kind:12} {colocation:>5} {node:22} {shards:>6} {size:>12}")
