"""`manage.py citus_layout`: where the Citus tables' shards are, and the hot-project runbook's two steps.

manage.py citus_layout                               # shards and bytes per table and node
manage.py citus_layout --project 42                  # the shard and node of project 42 in each table
manage.py citus_layout --isolate 42                  # project 42 gets shards of its own
manage.py citus_layout --move 42 --to 10.0.0.7:5432  # and they move to that node
"""

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection

from flux.storage.citus import (
    citus_installed,
    isolate_project,
    move_project,
    project_node,
    project_placement,
    shards_per_node,
)


class Command(BaseCommand):
    help = "Show the Citus tables' shards per node or one project's; isolate a hot project, move it to a node."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--project", type=int, help="a project id: its shard and node in each distributed table")
        parser.add_argument("--isolate", type=int, metavar="PROJECT", help="give this project shards of its own")
        parser.add_argument("--move", type=int, metavar="PROJECT", help="move this project's shards (with --to)")
        parser.add_argument("--to", metavar="HOST:PORT", help="the worker node to move them to")

    def handle(self, *args: object, **options: object) -> None:
        with connection.cursor() as cursor:
            if not citus_installed(cursor):
                raise CommandError("this database is not a Citus database (no citus extension)")
            if options["isolate"] is not None:
                shard = isolate_project(cursor, options["isolate"])
                self.stdout.write(f"project {options['isolate']} now has shard {shard} (and co-located ones)")
            elif options["move"] is not None:
                self.move(cursor, options["move"], options["to"])
            elif options["project"] is not None:
                self.show_project(cursor, options["project"])
            else:
                self.show_tables(cursor)

    def move(self, cursor: object, project_id: int, target: str | None) -> None:
        host, _, port = (target or "").rpartition(":")
        if not host or not port.isdigit():
            raise CommandError("--move needs --to HOST:PORT, a worker node")
        from_host, from_port = move_project(cursor, project_id, host, int(port))
        _, now_host, now_port = project_node(cursor, project_id)
        self.stdout.write(f"project {project_id}: {from_host}:{from_port} -> {now_host}:{now_port}")

    def show_project(self, cursor: object, project_id: int) -> None:
        self.stdout.write(f"{'table':32} {'shard':>8} {'node':22} {'bytes':>12}")
        for table, shard, node, size in project_placement(cursor, project_id):
            self.stdout.write(f"{table:32} {shard:>8} {node:22} {size:>12}")

    def show_tables(self, cursor: object) -> None:
        self.stdout.write(f"{'table':32} {'type':12} {'coloc':>5} {'node':22} {'shards':>6} {'bytes':>12}")
        for table, kind, colocation, node, shards, size in shards_per_node(cursor):
            self.stdout.write(f"{table:32} {kind:12} {colocation:>5} {node:22} {shards:>6} {size:>12}")
