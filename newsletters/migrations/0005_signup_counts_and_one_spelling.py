"""Sign-up counts for when the cache is down, and the stored addresses in the one spelling that
sign-ups now store (newsletters.addresses)."""

from django.db import migrations, models
from django.db.models import Q
from django.db.models.functions import Lower


def respell_addresses(apps, schema_editor):
    """Give each stored address its one spelling. A row whose spelling is already another row
    of the same newsletter (one mailbox signed up twice, as `"victim"@…` and `victim@…`) keeps
    its spelling and is unsubscribed, and so is a row at an address now refused (an IP literal):
    no mailbox is sent an edition twice, nor mail sent to an internal host. Nothing is deleted."""
    from django.utils import timezone

    # A pure module: what it does to an address is what this migration meant to do.
    from newsletters.addresses import InvalidAddress, normalize_email

    Subscription = apps.get_model("newsletters", "Subscription")
    now = timezone.now()
    # Only rows that can need it: a quoted local part, or a domain with anything but
    # lower-case ASCII letters, digits, dots and hyphens, or ending in digits.
    suspects = Subscription.objects.filter(
        Q(email__contains='"') | Q(email__regex=r"@.*[^a-z0-9.-]") | Q(email__regex=r"\.[0-9]+$")
    )
    for pk, email, newsletter_id, status in suspects.order_by("pk").values_list(
        "pk", "email", "newsletter_id", "status"
    ):
        try:
            spelling = normalize_email(email)
        except InvalidAddress:
            spelling = None
        if spelling == email:
            continue
        taken = (
            spelling is not None
            and Subscription.objects.alias(key=Lower("email"))
            .filter(newsletter_id=newsletter_id, key=spelling.lower())
            .exclude(pk=pk)
            .exists()
        )
        if spelling is not None and not taken:
            Subscription.objects.filter(pk=pk).update(email=spelling)
        elif status != "unsubscribed":
            Subscription.objects.filter(pk=pk).update(status="unsubscribed", unsubscribed_at=now)


class Migration(migrations.Migration):
    dependencies = [("newsletters", "0004_daily_cadence")]

    operations = [
        migrations.CreateModel(
            name="SignupCount",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("key", models.CharField(max_length=120, unique=True)),
                ("count", models.PositiveIntegerField(default=0)),
                ("expires_at", models.DateTimeField(db_index=True)),
            ],
        ),
        migrations.RunPython(respell_addresses, migrations.RunPython.noop),
    ]
