"""Django's `migrate`, which first creates the configured database when it does not exist yet."""

import psycopg
from django.conf import settings
from django.core.management.base import CommandError
from django.core.management.commands.migrate import Command as DjangoMigrate
from psycopg import sql

CONNECT_TIMEOUT_SECONDS = 5


class Command(DjangoMigrate):
    help = DjangoMigrate.help + " Creates the database first if it is missing."

    def handle(self, *args: object, **options: object) -> None:
        database = settings.DATABASES[options["database"]]
        if create_database_if_missing(database):
            self.stdout.write(f"Created database {database['NAME']!r}.")
        super().handle(*args, **options)


def create_database_if_missing(database: dict) -> bool:
    """Create `database` (Django's settings of it) through the server's maintenance database; True if created."""
    connection_settings = {
        "host": database["HOST"] or None, "port": database["PORT"] or None, "user": database["USER"] or None,
        "password": database["PASSWORD"] or None, "connect_timeout": CONNECT_TIMEOUT_SECONDS,
    }  # fmt: skip
    name = database["NAME"]
    try:
        with psycopg.connect(dbname="postgres", autocommit=True, **connection_settings) as conn:
            if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
                return False
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
            return True
    except psycopg.Error as error:
        where = f"{database['HOST'] or 'localhost'}:{database['PORT'] or 5432}"
        raise CommandError(
            f"Could not check or create database {name!r} on {where} through its 'postgres' database: "
            f"{str(error).strip()}. Create it yourself (e.g. `createdb -h {database['HOST'] or 'localhost'} "
            f'-U {database["USER"] or "postgres"} {name}`, or `CREATE DATABASE "{name}";` in psql) and run '
            "migrate again."
        ) from None
