"""The desk's dashboard, for the admin's home page (`templates/admin/index.html`)."""

from django import template

from ..admin.dashboard import dashboard_context

register = template.Library()


@register.inclusion_tag("admin/includes/dashboard.html", takes_context=True)
def desk_dashboard(context) -> dict:
    return {**dashboard_context(context["request"]), "perms": context.get("perms")}
