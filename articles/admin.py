from django.contrib import admin
from django.db import models

from .models import Article, Section


@admin.register(Section)
class SectionAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "order"]
    list_editable = ["order"]
    search_fields = ["name"]
    prepopulated_fields = {"slug": ["name"]}


@admin.register(Article)
class ArticleAdmin(admin.ModelAdmin):
    list_display = ["headline", "status", "section", "bylines", "published_at", "is_breaking"]
    list_filter = ["status", "section", "is_breaking", "is_featured", "authors"]
    list_select_related = ["section"]
    search_fields = ["headline", "standfirst"]
    date_hierarchy = "published_at"
    prepopulated_fields = {"slug": ["headline"]}
    autocomplete_fields = ["authors", "related"]
    readonly_fields = ["word_count", "created_at", "updated_at", "source_label"]
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    fieldsets = [
        (None, {"fields": ["headline", "slug", "standfirst", "body"]}),
        ("Hero image", {"fields": ["hero_image", "hero_alt", "hero_caption", "hero_credit"]}),
        (
            "Placement",
            {"fields": ["section", "authors", "tags", "related", "is_featured", "is_breaking"]},
        ),
        (
            "Publication",
            {"fields": ["status", "published_at", "created_at", "updated_at", "word_count"]},
        ),
        (
            "Source and navigation",
            {
                "fields": [
                    "source_name",
                    "source_url",
                    "source_label",
                    "previous_title",
                    "next_title",
                ],
                "classes": ["collapse"],
            },
        ),
    ]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("authors")

    @admin.display(description="Authors")
    def bylines(self, article):
        return ", ".join(author.name for author in article.authors.all())
