import pytest


def test_liveness_needs_nothing(client: object) -> None:
    response = client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readiness_reports_database_and_redis(client: object, db: None) -> None:
    response = client.get("/health/ready")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {"database": "ok", "redis": "ok"}}


def test_readiness_is_degraded_not_503_when_only_redis_is_unreachable(
    client: object, db: None, settings: object
) -> None:
    """Ingestion went on through a Redis outage, but the 503 would have taken every web node out of a balancer."""
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    response = client.get("/health/ready")
    assert (response.status_code, response.json()["status"]) == (200, "degraded")
    assert response.json()["checks"]["redis"].startswith("unreachable")
    assert response.json()["checks"]["database"] == "ok"


@pytest.mark.storage
def test_home_page_names_the_storage_layout(client: object, db: None, settings: object) -> None:
    response = client.get("/")
    assert response.status_code == 200
    expected = "TimescaleDB hypertables" if settings.FLUX_STORAGE == "timescaledb" else "native PostgreSQL partitions"
    assert expected in response.content.decode()
