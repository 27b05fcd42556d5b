"""The newsroom's admin for stories and sections (`stories`) and the editors' dashboard
(`dashboard`)."""

from . import stories  # noqa: F401  (registers the model admins)
