"""python manage.py mcp --project SLUG | --key KEY: Flux's MCP server over stdio, for desktop assistants."""

import anyio
from django.core.management.base import BaseCommand, CommandError, CommandParser

from flux.mcp.internal_api import Caller
from flux.mcp.server import build_server
from flux.tenants.models import Project
from flux.tenants.queries import get_key_by_raw
from flux.web.auth import SessionGrant


class Command(BaseCommand):
    help = "Serve Flux's MCP tools over stdio for one project (as an assistant's local server)."
    requires_system_checks = []

    def add_arguments(self, parser: CommandParser) -> None:
        who = parser.add_mutually_exclusive_group(required=True)
        who.add_argument("--project", help="project slug: act with an owner's rights (or --read-only)")
        who.add_argument("--key", help="an API key: act with its project and kind (ingest, read or admin)")
        parser.add_argument("--read-only", action="store_true", help="with --project: only the read tools")

    def handle(self, *args: object, **options: object) -> None:
        caller = self.caller(options)
        server = build_server(caller.kind, lambda ctx: caller)
        anyio.run(server.run_stdio_async)

    def caller(self, options: dict) -> Caller:
        if options["key"]:
            api_key = get_key_by_raw(options["key"])
            if api_key is None or api_key.is_revoked:
                raise CommandError("unknown or revoked API key")
            if api_key.project.archived:
                raise CommandError(f"project {api_key.project.slug!r} is archived")
            return Caller.for_key(api_key)
        project = Project.objects.filter(slug=options["project"], archived=False).first()
        if project is None:
            raise CommandError(f"no project with slug {options['project']!r}")
        kind = "read" if options["read_only"] else "admin"
        return Caller(project, kind, SessionGrant(kind=kind, user_id=None, label="local MCP session (stdio)"))
