"""What a notification says: the webhook body, Slack's summary and lines, email, human-friendly numbers."""

from anomalies.delivery import deliver_due
from anomalies.models import Anomaly, Delivery
from anomalies.notifications import WEBHOOK_ANOMALIES, human_number, human_percent, notify_changes
from anomalies.serializers import anomaly_json
from anomalies.tests.notifications.support import (
    T0,
    Receiver,
    make_channel,
    open_anomaly,
)
from flux.tenants.models import Project


def test_the_webhook_body_has_the_event_project_summary_and_anomalies(project: Project, receiver: Receiver) -> None:
    make_channel(project, target=receiver.url)
    _, anomaly = change = open_anomaly(project)
    notify_changes(project.pk, [change], T0)
    deliver_due(T0)
    [body] = receiver.bodies()
    assert body == {
        "event": "opened",
        "project": {"slug": project.slug, "name": "Alice's shop"},
        "anomalies": [{**anomaly_json(Anomaly.objects.get(pk=anomaly.pk)), "url": None}],  # no FLUX_PUBLIC_URL
        "more": 0,
        "summary": "1 anomaly opened in Alice's shop: checkout.completed",
        "sent_at": "2026-11-20T10:00:00Z",
    }


def test_a_webhook_lists_the_worst_anomalies_up_to_its_cap_and_counts_the_rest(project: Project) -> None:
    make_channel(project)
    changes = [open_anomaly(project, f"page.{n:03}") for n in range(WEBHOOK_ANOMALIES + 2)]
    changes.append(open_anomaly(project, "checkout.completed", severity="critical"))
    [delivery] = notify_changes(project.pk, changes, T0)
    listed = delivery.payload["anomalies"]
    assert (len(listed), delivery.payload["more"]) == (WEBHOOK_ANOMALIES, 3)
    assert listed[0]["series"]["name"] == "checkout.completed"  # worst first, so the cap drops the mildest
    assert delivery.payload["summary"].startswith(f"{WEBHOOK_ANOMALIES + 3} anomalies opened in Alice's shop: ")
    assert len(delivery.anomaly_ids) == WEBHOOK_ANOMALIES + 3  # every one counts as told


def test_slack_gets_the_summary_and_at_most_ten_lines(project: Project, receiver: Receiver) -> None:
    make_channel(project, kind="slack", target=receiver.url)
    notify_changes(project.pk, [open_anomaly(project, f"page.{n:02}") for n in range(12)], T0)
    deliver_due(T0)
    [(headers, _)] = receiver.requests
    [body] = receiver.bodies()
    assert body["text"] == "12 anomalies opened in Alice's shop: page.00, page.01, page.02 and 9 more"
    header, listing, _context = body["blocks"]
    assert header["text"] == {"type": "mrkdwn", "text": "*12 anomalies opened in Alice's shop*"}
    lines = listing["text"]["text"].split("\n")
    assert len(lines) == 11
    assert lines[0] == "• *page.00* spike up: 1,234 vs 310 expected (+298%), warning"
    assert lines[-1] == "…and 2 more"
    assert "X-Flux-Signature" not in headers


def test_with_a_public_url_every_notice_links_each_anomaly(
    project: Project, receiver: Receiver, mailoutbox: list, settings: object
) -> None:
    """An on-call engineer paged by Slack or mail had no way back to the anomaly but to look for it."""
    settings.FLUX_PUBLIC_URL = "https://flux.example.com"
    for kind, target in (("webhook", receiver.url), ("slack", receiver.url), ("email", "ops@example.com")):
        make_channel(project, kind=kind, target=target)
    _, anomaly = change = open_anomaly(project)
    notify_changes(project.pk, [change], T0)
    deliver_due(T0)
    url = f"https://flux.example.com/p/{project.slug}/anomalies/{anomaly.pk}/"
    webhook, slack = sorted(receiver.bodies(), key=lambda body: "blocks" in body)
    assert webhook["anomalies"][0]["url"] == url
    assert slack["blocks"][1]["text"]["text"].startswith(f"• *<{url}|checkout.completed>* spike up")
    assert f"  {url}" in mailoutbox[0].body.splitlines()


def test_email_goes_to_every_address_through_djangos_backend(
    project: Project, mailoutbox: list, settings: object
) -> None:
    settings.DEFAULT_FROM_EMAIL = "flux@example.com"
    make_channel(project, kind="email", target="ops@example.com, cto@example.com")
    notify_changes(project.pk, [open_anomaly(project)], T0)
    assert deliver_due(T0) == 1
    [message] = mailoutbox
    assert message.subject == "[Flux] 1 anomaly opened in Alice's shop"
    assert (message.from_email, message.to) == ("flux@example.com", ["ops@example.com", "cto@example.com"])
    line = "- checkout.completed: spike up: 1,234 vs 310 expected (+298%), warning, since 2026-11-20 10:00 UTC"
    assert line in message.body.splitlines()
    assert Delivery.objects.get().status == "delivered"


def test_an_email_subject_holds_no_control_characters_of_the_project_name(project: Project, mailoutbox: list) -> None:
    project.name = "Alice's\r\nshop\t\u2028EU"  # names come from admin or provisioning, unchecked
    project.save(update_fields=["name"])
    make_channel(project, kind="email", target="ops@example.com")
    notify_changes(project.pk, [open_anomaly(project)], T0)
    deliver_due(T0)
    [message] = mailoutbox  # before: BadHeaderError, logged as an internal error and retried
    assert message.subject == "[Flux] 1 anomaly opened in Alice's shop EU"
    assert Delivery.objects.get().status == "delivered"


def test_numbers_are_human_friendly() -> None:
    assert [human_number(v) for v in (1234.4, 2_500_000, 12.345, 0.5, 7.0)] == [
        "1,234",
        "2,500,000",
        "12.3",
        "0.5",
        "7",
    ]
    assert [human_percent(v) for v in (23.4, -4.56, 1234.0)] == ["+23%", "-4.6%", "+1,234%"]


def test_an_email_test_without_a_mail_server_says_it_was_printed_not_sent(project: Project, settings: object) -> None:
    from anomalies.delivery import CONSOLE_BACKEND, PRINTED_NOT_SENT, send_test

    settings.EMAIL_BACKEND = CONSOLE_BACKEND  # as without EMAIL_HOST
    delivery = send_test(make_channel(project, kind="email", target="ops@example.com"), T0)
    assert (delivery.status, delivery.last_error) == ("delivered", PRINTED_NOT_SENT)
