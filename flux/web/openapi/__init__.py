"""OpenAPI building blocks shared by the API views, by noun: key schemes, fields, parameters, errors, ingestion
shapes and projects.

The serializers here only describe JSON for the schema at /api/schema; the views build their answers
directly. Event and metric read shapes live in events/openapi.py and metrics/openapi.py.
"""
