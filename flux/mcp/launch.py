"""The stdio MCP configuration the setup page shows: what an assistant on this server pastes and runs."""

import json
import sys
from urllib.parse import quote, urlsplit, urlunsplit

from django.conf import settings

from flux.tenants.models import Project

PASSWORD_PLACEHOLDER = "PASSWORD"  # noqa: S105 - what replaces the real one on the page


def database_url() -> str:
    """This server's database as a URL, with any password replaced (a page is no place for it)."""
    database = settings.DATABASES["default"]
    credentials = quote(database["USER"] or "postgres", safe="")
    if database["PASSWORD"]:
        credentials += f":{PASSWORD_PLACEHOLDER}"
    host = database["HOST"] or "127.0.0.1"
    return f"postgres://{credentials}@{host}:{database['PORT'] or 5432}/{quote(database['NAME'], safe='')}"


def redis_url() -> str:
    parts = urlsplit(settings.REDIS_URL)
    if parts.password:
        port = f":{parts.port}" if parts.port else ""
        parts = parts._replace(netloc=f"{parts.username or ''}:{PASSWORD_PLACEHOLDER}@{parts.hostname}{port}")
    return urlunsplit(parts)


def stdio_config(project_slug: str) -> dict:
    """`mcpServers` JSON that runs `manage.py mcp` with this server's Python, code, database and Redis."""
    return {
        "mcpServers": {
            f"flux-{project_slug}": {
                "command": sys.executable,
                "args": [str(settings.BASE_DIR / "manage.py"), "mcp", "--project", project_slug],
                "env": {"DATABASE_URL": database_url(), "REDIS_URL": redis_url()},
            }
        }
    }


def has_hidden_password() -> bool:
    return bool(settings.DATABASES["default"]["PASSWORD"]) or bool(urlsplit(settings.REDIS_URL).password)


def setup_context(project: Project) -> dict:
    """The setup page's stdio configuration for this project, registered with flux.web.pages by the app."""
    return {
        "mcp_stdio_json": json.dumps(stdio_config(project.slug), indent=2, ensure_ascii=False),
        "mcp_password_hidden": has_hidden_password(),
    }
