from django.apps import AppConfig


class McpConfig(AppConfig):
    name = "flux.mcp"
    label = "flux_mcp"

    def ready(self) -> None:
        # The setup page shows how to start this server (the dashboards app draws the page and knows no feature).
        from flux.mcp.launch import setup_context
        from flux.web.pages import register_setup_context

        register_setup_context("mcp", setup_context)
