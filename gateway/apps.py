from django.apps import AppConfig


class GatewayConfig(AppConfig):
    name = "gateway"
    verbose_name = "MCP gateway"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        # The upstream servers are a section of the policies document; policies cannot import
        # this app (imports run one way), so the section is registered from here.
        from gateway.document import SECTION
        from policies.document import register_section

        register_section(SECTION)
