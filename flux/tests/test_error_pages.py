"""Error pages in production (DEBUG off) are Flux's own, saying what happened: Django's bare page was shown,
and a share link's viewer never read that the link had expired or was revoked."""

import pytest
from django.test import Client


@pytest.mark.django_db
def test_a_missing_page_and_a_dead_share_link_say_so_in_flux_s_page(settings: object) -> None:
    settings.DEBUG = False
    dead_link = Client().get("/s/fxs_nope/")
    assert dead_link.status_code == 404
    assert "This link does not exist, has expired or was revoked." in dead_link.content.decode()
    missing = Client().get("/no/such/page/")
    assert missing.status_code == 404
    page = missing.content.decode()
    assert "There is no page at this address." in page and "Resolver404" not in page
