"""The project shapes: the key's current project and a provisioned project."""

from rest_framework import serializers

from flux.tenants.models import Environment, KeyKind


class CurrentProject(serializers.Serializer):
    """The project a key belongs to, and the key's kind."""

    id = serializers.IntegerField()
    name = serializers.CharField()
    slug = serializers.SlugField()
    environment = serializers.ChoiceField(choices=Environment.values)
    timezone = serializers.CharField(help_text="IANA time zone of calendar periods and day buckets.")
    retention_days = serializers.IntegerField(help_text="How long raw events and metric points are kept.")
    key_kind = serializers.ChoiceField(choices=KeyKind.values)


class ProvisionedProject(serializers.Serializer):
    """The project found or created, with a new ingest key and a new admin key (earlier keys stay valid)."""

    id = serializers.IntegerField()
    name = serializers.CharField()
    slug = serializers.SlugField(help_text="The name for production; `name-environment` for other environments.")
    environment = serializers.ChoiceField(choices=Environment.values)
    ingest_key = serializers.CharField(help_text="A new ingest key; shown only now.")
    api_key = serializers.CharField(help_text="A new admin key; shown only now.")
