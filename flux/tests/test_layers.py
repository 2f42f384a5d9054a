"""The direction of use between Flux's layers (ARCHITECTURE.md), checked on every module's imports.

Wiring (flux/settings/, urls, asgi, celery, routing, dev tools) may import anything. The platform beneath
the apps imports neither an app, a feature nor the wiring. Apps import the platform, and of another app only
its `queries`, never a feature; features (above the apps) import both. Imports inside functions count too.
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
WIRING = {"flux", "flux.settings", "flux.urls", "flux.asgi", "flux.celery", "flux.routing"}
WIRING |= {"flux.devservices", "flux.devtimescale"}
PLATFORM = ("flux.web", "flux.query", "flux.payloads", "flux.storage", "flux.tenants")
FEATURES = ("flux.ingestion", "flux.insights", "flux.mcp", "flux.otlp", "flux.statsd", "flux.overview", "flux.sharing")
APPS = ("events", "metrics", "dashboards", "anomalies", "annotations")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def source_modules() -> list[tuple[str, Path]]:
    """Every non-test, non-migration module of flux/ and the apps."""
    paths = [path for top in ("flux", *APPS) for path in (ROOT / top).rglob("*.py")]
    return sorted(
        (module_name(path), path) for path in paths if not {"tests", "migrations"} & set(path.relative_to(ROOT).parts)
    )


def imported_modules(path: Path) -> set[str]:
    """Modules named by the file's imports: `from a import b` counts as a.b when b is a module, else as a."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                candidate = f"{node.module}.{alias.name}"
                candidate_path = ROOT / candidate.replace(".", "/")
                is_module = candidate_path.with_suffix(".py").exists() or (candidate_path / "__init__.py").exists()
                found.add(candidate if is_module else node.module)
    return found


def within(module: str, packages: tuple[str, ...] | set[str]) -> str | None:
    return next((package for package in packages if module == package or module.startswith(package + ".")), None)


def layer(module: str) -> str | None:
    if module in WIRING or within(module, ("flux.settings",)) or module.startswith("flux.dev"):  # dev*: local services
        return "wiring"
    if within(module, PLATFORM):
        return "platform"
    if within(module, FEATURES):
        return "feature"
    if within(module, APPS):
        return "app"
    return None


MODULES = source_modules()


def test_every_module_of_flux_has_a_layer() -> None:
    unplaced = [name for name, _ in MODULES if layer(name) is None]
    assert not unplaced, f"put these modules in a layer's package (ARCHITECTURE.md): {unplaced}"


def platform_violations(modules: list[tuple[str, Path]]) -> list[str]:
    return [
        f"{name} imports {imported} ({layer(imported)})"
        for name, path in modules
        if layer(name) == "platform"
        for imported in sorted(imported_modules(path))
        if layer(imported) in {"app", "feature", "wiring"}
    ]


def test_the_platform_imports_no_app_feature_or_wiring() -> None:
    wrong = platform_violations(MODULES)
    assert not wrong, "the platform must not depend on what stands on it:\n" + "\n".join(wrong)


def test_a_platform_module_importing_an_app_or_a_feature_is_caught(tmp_path: Path) -> None:
    module = tmp_path / "module.py"
    module.write_text(
        "from events.models import Event\n"
        "from flux.web import api\n"
        "def later():\n"
        "    from flux.ingestion import services\n"
    )
    assert platform_violations([("flux.web.example", module)]) == [
        "flux.web.example imports events.models (app)",
        "flux.web.example imports flux.ingestion.services (feature)",
    ]


def app_violations(modules: list[tuple[str, Path]]) -> list[str]:
    """What apps import beyond the platform, their own modules and other apps' `queries` (and `models`, which
    relations need): another app's API, serializers or internals, a feature or the wiring."""
    wrong = []
    for name, path in modules:
        if layer(name) != "app":
            continue
        own_app = within(name, APPS)
        for imported in sorted(imported_modules(path)):
            other_app = within(imported, APPS)
            allowed = (
                layer(imported) in {None, "platform"}
                or other_app == own_app
                or (other_app is not None and imported in {other_app, f"{other_app}.queries", f"{other_app}.models"})
            )
            if not allowed:
                wrong.append(f"{name} imports {imported}")
    return wrong


def test_apps_import_the_platform_and_other_apps_queries_only() -> None:
    wrong = app_violations(MODULES)
    assert not wrong, "apps may use the platform and other apps' queries (and models):\n" + "\n".join(wrong)


def test_an_app_importing_another_apps_internals_or_a_feature_is_caught(tmp_path: Path) -> None:
    module = tmp_path / "module.py"
    module.write_text(
        "from dashboards import queries\n"
        "from events.models import Event\n"
        "from flux.query.timerange import TimeRange\n"
        "from metrics.widget_data import something\n"
        "def later():\n"
        "    from flux.sharing import services\n"
        "    from flux import urls\n"
    )
    assert app_violations([("anomalies.example", module)]) == [
        "anomalies.example imports flux.sharing.services",
        "anomalies.example imports flux.urls",
        "anomalies.example imports metrics.widget_data",
    ]


@pytest.mark.parametrize(
    ("module", "expected"),
    [
        ("flux.web.api", "platform"),
        ("flux.ingestion.api", "feature"),
        ("events.queries", "app"),
        ("flux.urls", "wiring"),
        ("flux.settings.tasks", "wiring"),
    ],
)
def test_layers_are_told_apart(module: str, expected: str) -> None:
    assert layer(module) == expected


def test_the_moved_storage_tasks_keep_their_names() -> None:
    """Beat schedules and queued messages name tasks: moving the storage tasks into flux.storage kept them."""
    from flux.storage import tasks

    names = {task.name for task in (tasks.ensure_partitions, tasks.apply_retention, tasks.compress_chunks)}
    assert names | {tasks.purge_project_data.name} == {
        "flux.tasks.ensure_partitions",
        "flux.tasks.apply_retention",
        "flux.tasks.compress_chunks",
        "flux.tasks.purge_project_data",
    }
