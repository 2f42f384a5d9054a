from django.apps import AppConfig


class SharingConfig(AppConfig):
    name = "flux.sharing"
    label = "sharing"  # the label it had as a top-level app: its table and migrations keep their names

    def ready(self) -> None:
        # The share panel on the dashboard page (flux.web.pages: the dashboards app names no feature).
        from flux.web.pages import register_page_panel

        register_page_panel("dashboard", "sharing/panel.html", "js/sharing.js")
