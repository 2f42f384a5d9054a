from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from flux.tenants.models import Environment
from flux.tenants.services import create_project_with_keys


class Command(BaseCommand):
    help = "Create a project with one ingest, read and admin key, printed as '<kind> key: <key>'."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name")
        parser.add_argument("--slug")
        parser.add_argument("--environment", choices=Environment.values, default=Environment.PRODUCTION)
        parser.add_argument("--timezone", default="UTC", help="IANA name, e.g. Europe/Berlin")
        parser.add_argument("--retention-days", type=int)
        parser.add_argument("--owner", help="username of an existing user to make owner")

    def handle(self, *args: object, **options: object) -> None:
        owner = None
        if options["owner"]:
            owner = get_user_model().objects.filter(username=options["owner"]).first()
            if owner is None:
                raise CommandError(f"no user named {options['owner']!r}")
        try:
            project, raw_keys = create_project_with_keys(
                options["name"],
                slug=options["slug"],
                environment=options["environment"],
                timezone_name=options["timezone"],
                retention_days=options["retention_days"],
                owner=owner,
            )
        except ValidationError as error:
            raise CommandError(
                "; ".join(f"{field}: {' '.join(errs)}" for field, errs in error.message_dict.items())
            ) from None
        self.stderr.write(f"Created project {project.name!r} (slug {project.slug}). Keys are shown only now:")
        for kind, raw_key in raw_keys.items():
            self.stdout.write(f"{kind} key: {raw_key}")
