"""An anomaly's page in a real browser says its numbers in the unit of the buckets it was found on."""

from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth.models import User

from anomalies import services
from anomalies.models import Anomaly, Watch
from anomalies.services import Verdict
from anomalies.tests.factories import make_watch
from flux.tenants.models import Project
from flux.tenants.services import create_project
from flux.tests.browser import DRAWN, log_in, wait_loaded
from metrics.tests.factories import make_series

pytestmark = [pytest.mark.e2e, pytest.mark.live_login]


@pytest.fixture
def shop(transactional_db: None) -> Project:
    return create_project("Shop", owner=User.objects.create_user("olivia", password="correct horse"))


def test_a_five_minute_anomaly_is_described_per_five_minutes(page: object, live_flux: str, shop: Project) -> None:
    # (The one test of this, merged from two branches' copies: this module's and test_browser_pages.py's.)
    bucket = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=30)
    bucket -= timedelta(minutes=bucket.minute % 5)
    verdict = Verdict(
        bucket, 300, True, 0.9, "critical", "flatline", "down", 0.0, 3.0, 0.0, 14.28, episode_start=bucket
    )
    _, anomaly = services.apply_verdict(make_watch(shop, "payment.ok", interval_seconds=300), verdict, bucket)
    log_in(page, live_flux, "olivia", "correct horse", to_dashboard=False)
    page.goto(f"{live_flux}/p/{shop.slug}/anomalies/{anomaly.pk}/")
    wait_loaded(page)
    assert page.evaluate(DRAWN, "#anomaly-chart")  # its five-minute context
    summary, facts = page.inner_text("#summary"), page.inner_text("#facts")
    assert "0 events in 5 minutes where 3 were expected" in summary
    assert "an hour" not in summary
    assert "last anomalous 5-minute bucket" in facts and "hour" not in facts


def test_an_anomalys_times_name_the_projects_zone(page: object, live_flux: str, shop: Project) -> None:
    # Notifications say "since 2026-11-20 10:00 UTC"; the pages show the project's wall clock, so they say which.
    shop.timezone = "Europe/Berlin"
    shop.save(update_fields=["timezone"])
    bucket = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
    verdict = Verdict(bucket, 3600, True, 0.9, "critical", "spike", "up", 90.0, 30.0, 20.0, 40.0, episode_start=bucket)
    _, anomaly = services.apply_verdict(make_watch(shop, "user.signup"), verdict, bucket)
    log_in(page, live_flux, "olivia", "correct horse", to_dashboard=False)
    page.goto(f"{live_flux}/p/{shop.slug}/anomalies/{anomaly.pk}/")
    wait_loaded(page)
    assert "since Nov 20, 2026, 11:00:00 AM GMT+1" in page.inner_text("#summary")
    page.goto(f"{live_flux}/p/{shop.slug}/anomalies/")
    wait_loaded(page)
    assert "11:00:00 AM GMT+1" in page.locator(f"tr[data-id='{anomaly.pk}']").inner_text()


def test_a_minute_checks_anomaly_is_described_over_its_minutes_without_a_band(
    page: object, live_flux: str, shop: Project
) -> None:
    # A minute check's actual and expected are the events of the whole stretch since the drop began
    # (anomalies.minutes.minute_verdict), and it has no band.
    started = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=60)
    last = started + timedelta(minutes=50)
    verdict = Verdict(last, 60, True, 0.6, "info", "drop", "down", 31.0, 77.0, episode_start=started)
    _, anomaly = services.apply_verdict(make_watch(shop, "checkout.done"), verdict, last)
    log_in(page, live_flux, "olivia", "correct horse", to_dashboard=False)
    page.goto(f"{live_flux}/p/{shop.slug}/anomalies/{anomaly.pk}/")
    wait_loaded(page)
    summary = page.inner_text("#summary")
    assert "31 events in 51 minutes where 77 were expected (-60%)" in summary
    assert "band" not in summary and "a minute" not in summary


def test_a_counters_anomaly_says_its_rate_is_a_second(page: object, live_flux: str, shop: Project) -> None:
    """ "spike up: 866 rate where 1.01 was expected" gave no unit."""
    series = make_series(shop, "jobs.done", "counter")
    bucket = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
    verdict = Verdict(bucket, 3600, True, 0.9, "critical", "spike", "up", 866.0, 1.01, 0.5, 2.0, episode_start=bucket)
    _, anomaly = services.apply_verdict(make_watch(shop, "jobs.done", series=series, measure="rate"), verdict, bucket)
    log_in(page, live_flux, "olivia", "correct horse", to_dashboard=False)
    page.goto(f"{live_flux}/p/{shop.slug}/anomalies/{anomaly.pk}/")
    wait_loaded(page)
    assert "spike up: 866 a second (rate) where 1.01 was expected" in page.inner_text("#summary")


def test_a_series_muted_for_good_says_until_further_notice(page: object, live_flux: str, shop: Project) -> None:
    # 9999-12-31 in UTC is in year 10000 east of UTC, as the pages used to show it.
    shop.timezone = "Europe/Berlin"
    shop.save(update_fields=["timezone"])
    watch = make_watch(shop, "user.signup")
    bucket = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
    verdict = Verdict(bucket, 3600, True, 0.9, "critical", "spike", "up", 90.0, 30.0, 20.0, 40.0, episode_start=bucket)
    _, anomaly = services.apply_verdict(watch, verdict, bucket)
    Watch.objects.filter(pk=watch.pk).update(
        muted_until=datetime(9999, 12, 31, 23, 59, tzinfo=UTC)
    )  # by SQL, as stored
    log_in(page, live_flux, "olivia", "correct horse", to_dashboard=False)
    page.goto(f"{live_flux}/p/{shop.slug}/anomalies/{anomaly.pk}/")
    wait_loaded(page)
    facts = page.inner_text("#facts")
    assert "series muted until" in facts and "further notice" in facts and "10000" not in facts
    page.goto(f"{live_flux}/p/{shop.slug}/anomalies/settings/")
    wait_loaded(page)
    row = page.locator(f"#series tr[data-id='{watch.pk}']").inner_text()
    assert "further notice" in row and "10000" not in row


def test_acknowledge_all_on_the_list_acknowledges_the_open_ones_its_filters_match(
    page: object, live_flux: str, shop: Project
) -> None:
    bucket = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
    for name, severity in (("user.signup", "critical"), ("user.login", "info")):
        verdict = Verdict(bucket, 3600, True, 0.9, severity, "spike", "up", 90.0, 30.0, 20.0, 40.0)
        services.apply_verdict(make_watch(shop, name), verdict, bucket)
    log_in(page, live_flux, "olivia", "correct horse", to_dashboard=False)
    page.goto(f"{live_flux}/p/{shop.slug}/anomalies/?status=open&severity=critical")
    wait_loaded(page)
    page.once("dialog", lambda dialog: dialog.accept())  # asked first: it acts on every anomaly matching
    page.click("#acknowledge-all")
    page.wait_for_function("document.getElementById('acknowledge-all').textContent === 'Acknowledged 1'")
    statuses = dict(Anomaly.objects.filter(project=shop).values_list("watch__name", "status"))
    assert statuses == {"user.signup": "acknowledged", "user.login": "open"}  # the info one was not shown
