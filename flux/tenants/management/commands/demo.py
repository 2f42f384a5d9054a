import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction

from flux.tenants.models import Environment, Project
from flux.tenants.services import add_member, create_project_with_keys

DEMO_SLUG = "demo"


class Command(BaseCommand):
    help = (
        "Make sure the demo project and an 'admin' superuser exist and print their credentials. "
        "The first run creates them and keeps the credentials in FLUX_DATA_DIR/demo-credentials.txt "
        "(a local convenience file; the database holds only hashes), later runs print that file."
    )

    def handle(self, *args: object, **options: object) -> None:
        credentials_file = settings.FLUX_DATA_DIR / "demo-credentials.txt"
        if Project.objects.filter(slug=DEMO_SLUG).exists() and credentials_file.exists():
            self.stdout.write(credentials_file.read_text())
            return
        with transaction.atomic():
            text = self.create_demo()
        settings.FLUX_DATA_DIR.mkdir(parents=True, exist_ok=True)
        credentials_file.write_text(text)
        credentials_file.chmod(0o600)
        self.stdout.write(text)

    def create_demo(self) -> str:
        password = secrets.token_urlsafe(12)
        user_model = get_user_model()
        admin = user_model.objects.filter(username="admin").first()
        if admin is None:
            admin = user_model.objects.create_superuser("admin", "admin@localhost", password)
        else:
            admin.set_password(password)
            admin.save(update_fields=["password"])
        project = Project.objects.filter(slug=DEMO_SLUG).first()
        if project is not None:
            project.slug = f"{DEMO_SLUG}-{project.pk}"  # credentials were lost: keep its data, start afresh
            project.save(update_fields=["slug"])
        project, raw_keys = create_project_with_keys("Demo", slug=DEMO_SLUG, environment=Environment.DEVELOPMENT)
        add_member(project, admin, "owner")
        lines = [f"Demo project: {project.name} (slug {project.slug})"]
        lines += [f"{kind} key: {raw_key}" for kind, raw_key in raw_keys.items()]
        lines.append(f"Admin site login: admin / {password}")
        return "\n".join(lines) + "\n"
