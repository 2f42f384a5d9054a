import re
import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction

from flux.tenants.keys import hash_key
from flux.tenants.models import ApiKey, Environment, KeyKind, Project, Role
from flux.tenants.services import add_member, create_project, issue_key

DEMO_SLUG = "demo"
ADMIN_USERNAME = "admin"
KEY_LINE = re.compile(r"^(\w+) key: (\S+)$", re.MULTILINE)
LOGIN_LINE = re.compile(rf"^Admin site login: {ADMIN_USERNAME} / (\S+)$", re.MULTILINE)


class Command(BaseCommand):
    help = (
        "Make sure the demo project and an 'admin' superuser exist and print their credentials. "
        "The first run creates them and keeps the credentials in FLUX_DATA_DIR/demo-credentials.txt "
        "(a local convenience file; the database holds only hashes). Later runs print that file when its keys "
        "and password still work against this database, and issue new ones when they do not (another database)."
    )

    def handle(self, *args: object, **options: object) -> None:
        credentials_file = settings.FLUX_DATA_DIR / "demo-credentials.txt"
        if credentials_file.exists() and credentials_work(credentials_file.read_text()):
            self.stdout.write(credentials_file.read_text())
            return
        if credentials_file.exists():
            self.stderr.write("The saved demo credentials do not work with this database; issuing new ones.")
        with transaction.atomic():
            text = issue_demo_credentials()
        settings.FLUX_DATA_DIR.mkdir(parents=True, exist_ok=True)
        credentials_file.write_text(text)
        credentials_file.chmod(0o600)
        self.stdout.write(text)


def credentials_work(text: str) -> bool:
    """Every key in `text` is a live key of the demo project here, of its kind, and the admin password is right."""
    keys = dict(KEY_LINE.findall(text))
    login = LOGIN_LINE.search(text)
    if set(keys) != set(KeyKind.values) or login is None:
        return False
    for kind, raw_key in keys.items():
        live = ApiKey.objects.filter(
            hashed_key=hash_key(raw_key), kind=kind, project__slug=DEMO_SLUG, revoked_at__isnull=True
        )
        if not live.exists():
            return False
    admin = get_user_model().objects.filter(username=ADMIN_USERNAME, is_active=True).first()
    return admin is not None and admin.check_password(login.group(1))


def issue_demo_credentials() -> str:
    """The demo project and admin (created when missing, data kept otherwise), a new key of each kind and password."""
    password = secrets.token_urlsafe(12)
    user_model = get_user_model()
    admin = user_model.objects.filter(username=ADMIN_USERNAME).first()
    if admin is None:
        admin = user_model.objects.create_superuser(ADMIN_USERNAME, "admin@localhost", password)
    else:
        admin.set_password(password)
        admin.is_active = True
        admin.save(update_fields=["password", "is_active"])
    project = Project.objects.filter(slug=DEMO_SLUG).first()
    if project is None:
        project = create_project("Demo", slug=DEMO_SLUG, environment=Environment.DEVELOPMENT)
    add_member(project, admin, Role.OWNER)
    lines = [f"Demo project: {project.name} (slug {project.slug})"]
    lines += [f"{kind} key: {issue_key(project, kind, name=f'{kind} key').raw_key}" for kind in KeyKind.values]
    lines.append(f"Admin site login: {ADMIN_USERNAME} / {password}")
    return "\n".join(lines) + "\n"
