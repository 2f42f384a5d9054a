import pytest


def test_liveness_needs_nothing(client: object) -> None:
    response = client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readiness_reports_database_and_redis(client: object, db: None) -> None:
    response = client.get("/health/ready")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {"database": "ok", "redis": "ok"}}


def test_readiness_is_503_when_redis_is_unreachable(client: object, db: None, settings: object) -> None:
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    response = client.get("/health/ready")
    assert response.status_code == 503
    assert response.json()["checks"]["redis"].startswith("unreachable")
    assert response.json()["checks"]["database"] == "ok"


@pytest.mark.storage
def test_home_page_names_the_storage_layout(client: object, db: None, settings: object) -> None:
    response = client.get("/")
    assert response.status_code == 200
    expected = "TimescaleDB hypertables" if settings.FLUX_STORAGE == "timescaledb" else "native PostgreSQL partitions"
    assert expected in response.content.decode()
