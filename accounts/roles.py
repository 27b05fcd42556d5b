"""Editorial roles as groups. The permissions each role has are declared here and applied after
every `migrate` (and by `manage.py sync_roles`), so groups stay in sync when models or
permissions are added. Rules that depend on the article (whose it is, its status) live in
`articles.services.workflow`."""

from fnmatch import fnmatch

REPORTER = "Reporter"
EDITOR = "Editor"
NEWSLETTER_EDITOR = "Newsletter editor"

# "app_label.codename" patterns.
ROLE_PERMISSIONS = {
    REPORTER: [
        "articles.add_article",
        "articles.change_article",
        "articles.delete_article",  # own drafts only: workflow.can_delete
        "articles.view_article",
        "articles.view_section",
        "articles.view_correction",
        # Live blogs: post entries (for approval, unless the blog lets them publish), change
        # their own (`articles.services.live`).
        "articles.add_liveentry",
        "articles.change_liveentry",
        "articles.view_liveentry",
        "accounts.view_author",
        "taggit.add_tag",
        "taggit.view_tag",
        # The library: upload, describe and crop pictures; deleting one is for Editors.
        "pictures.add_image",
        "pictures.change_image",
        "pictures.view_image",
        "pictures.view_embed",
    ],
    EDITOR: [
        "articles.*",
        "accounts.*_author",
        "taggit.*",
        "pictures.*",
    ],
    NEWSLETTER_EDITOR: [
        "newsletters.*",
        "articles.view_article",
        "articles.view_section",
    ],
}


def sync_roles(*, using: str = "default") -> dict[str, int]:
    """Create the role groups and give each exactly the permissions its patterns match.
    Returns how many permissions each group has."""
    from django.contrib.auth.models import Group, Permission

    permissions = list(
        Permission.objects.using(using).select_related("content_type").order_by("pk")
    )
    counts = {}
    for role, patterns in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.using(using).get_or_create(name=role)
        wanted = [
            p
            for p in permissions
            if any(fnmatch(f"{p.content_type.app_label}.{p.codename}", pat) for pat in patterns)
        ]
        group.permissions.set(wanted)
        counts[role] = len(wanted)
    return counts


def sync_roles_after_migrate(sender, using="default", **kwargs):
    sync_roles(using=using)
