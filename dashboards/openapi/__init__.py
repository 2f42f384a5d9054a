"""OpenAPI shapes and parameters of the dashboards API, by noun (flux/web/openapi/ has the shared ones).

The limits and choices come from dashboards.validation, which refuses unknown keys; `...Input` shapes are
what may be sent, the others what is answered (complete and normalised: defaults filled in).
"""
