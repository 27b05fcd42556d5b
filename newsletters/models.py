"""Newsletters and their subscribers. Sending, confirmation and unsubscribing come with the
newsletters issue; for now a sign-up is recorded as pending."""

from django.db import models
from django.db.models.functions import Lower


class Newsletter(models.Model):
    name = models.CharField(max_length=120, unique=True)
    slug = models.SlugField(max_length=120, unique=True)
    description = models.TextField(blank=True)
    is_public = models.BooleanField(
        "public", default=True, help_text="Listed for readers to sign up to."
    )

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class Subscription(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "Pending confirmation"
        CONFIRMED = "confirmed", "Confirmed"
        UNSUBSCRIBED = "unsubscribed", "Unsubscribed"

    email = models.EmailField(max_length=254)
    newsletter = models.ForeignKey(
        Newsletter, on_delete=models.CASCADE, related_name="subscriptions"
    )
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    consent_at = models.DateTimeField(help_text="When the reader asked to be sent it.")
    source_url = models.CharField(
        max_length=500, blank=True, help_text="The page the reader signed up on."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                Lower("email"), "newsletter", name="subscription_unique_email_newsletter"
            ),
        ]

    def __str__(self):
        return f"{self.email} → {self.newsletter}"
