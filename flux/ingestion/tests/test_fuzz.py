"""No body, however odd, makes ingestion answer 500; valid items in it are still stored."""

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flux.tenants.models import Project
from flux.tenants.services import create_project, issue_key

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=30),
)  # fmt: skip
json_values = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)
field_values = st.one_of(json_values, st.sampled_from(["2026-11-23T10:00:00Z", "gauge", "set", "counter", "a.b"]))
item_keys = st.sampled_from(["name", "type", "value", "timestamp", "tags", "properties", "user_id", "id", "extra"])
items = st.one_of(st.dictionaries(item_keys, field_values, max_size=6), json_values)
bodies = st.one_of(
    st.fixed_dictionaries({"events": st.lists(items, max_size=5), "metrics": st.lists(items, max_size=5)}),
    st.dictionaries(st.sampled_from(["events", "metrics", "other"]), json_values, max_size=3),
    json_values,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=bodies)
def test_any_json_body_gets_a_deliberate_answer(client: object, db: None, body: object) -> None:
    project = Project.objects.filter(slug="fuzz").first() or create_project("fuzz", slug="fuzz")
    key = issue_key(project, "ingest").raw_key
    payload = json.dumps(body, allow_nan=True)
    response = client.post(
        "/api/v1/flux/batch", data=payload, content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {key}"
    )
    assert response.status_code in (202, 400, 413), response.content[:500]
    assert "error" in response.json() or "accepted" in response.json()
