from django.apps import AppConfig


class McpConfig(AppConfig):
    name = "flux.mcp"
    label = "flux_mcp"
