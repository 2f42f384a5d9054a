"""Threshold alerts in a real browser: an owner adds one on the settings page; it opens (listed among the
anomalies) when the error rate breaches, and resolves when it is back under."""

from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth.models import User

from anomalies import thresholds
from anomalies.models import Anomaly, ThresholdRule
from flux.tenants.models import Project
from flux.tenants.services import create_project
from flux.tests.browser import log_in
from metrics.tests.factories import insert_point, make_series

pytestmark = [pytest.mark.e2e, pytest.mark.live_login]


@pytest.fixture
def shop(transactional_db: None) -> Project:
    return create_project("Shop", owner=User.objects.create_user("olivia", password="correct horse"))


def test_a_threshold_alert_is_added_opens_and_resolves(page: object, live_flux: str, shop: Project) -> None:
    log_in(page, live_flux, "olivia", "correct horse", to_dashboard=False)
    page.goto(f"{live_flux}/p/{shop.slug}/anomalies/settings/")
    page.fill("#new-threshold [name=name]", "checkout.error_rate")
    page.fill("#new-threshold [name=threshold]", "0.02")
    page.fill("#new-threshold [name=duration_minutes]", "10")
    page.select_option("#new-threshold [name=severity]", "critical")
    page.click("#new-threshold button[type=submit]")
    page.wait_for_selector("#thresholds >> text=avg > 0.02 over 10 min")
    # Made before its metric: the row says it waits for it.
    assert "No metric named checkout.error_rate yet" in page.inner_text("#thresholds tbody")
    rule = ThresholdRule.objects.get(project=shop)

    series, now = make_series(shop, "checkout.error_rate", "gauge"), datetime.now(UTC).replace(microsecond=0)
    for minute in range(10):
        insert_point(series, now - timedelta(minutes=minute, seconds=20), 0.05)
    thresholds.evaluate_rules(now)
    alert = Anomaly.objects.get(watch=rule.watch)
    page.goto(f"{live_flux}/p/{shop.slug}/anomalies/")
    row = page.locator(f"tr[data-id='{alert.pk}']")
    row.wait_for()
    assert "checkout.error_rate" in row.inner_text() and "threshold" in row.inner_text()
    page.goto(f"{live_flux}/p/{shop.slug}/anomalies/{alert.pk}/")
    page.wait_for_function("document.body.dataset.loadedAt")
    assert page.inner_text("#summary").startswith("Threshold alert: 0.05, above the threshold 0.02, since ")
    assert page.locator("#mute").is_hidden()  # a rule's alerts stop by disabling the rule, not by a mute

    later = now + timedelta(minutes=30)
    for minute in range(10):
        insert_point(series, later - timedelta(minutes=minute, seconds=20), 0.01)
    thresholds.evaluate_rules(later)
    assert Anomaly.objects.get(pk=alert.pk).status == "resolved"
    page.goto(f"{live_flux}/p/{shop.slug}/anomalies/?status=resolved")
    page.locator(f"tr[data-id='{alert.pk}']").wait_for()
