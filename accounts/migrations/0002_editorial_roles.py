"""The editorial roles. Their permissions are set by accounts.roles.sync_roles after every
migrate, once all permissions exist."""

from django.db import migrations

ROLES = ["Reporter", "Editor", "Newsletter editor"]


def create_groups(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    for name in ROLES:
        Group.objects.get_or_create(name=name)


class Migration(migrations.Migration):
    dependencies = [("accounts", "0001_initial"), ("auth", "0012_alter_user_first_name_max_length")]
    operations = [migrations.RunPython(create_groups, migrations.RunPython.noop)]
