from datetime import timedelta

import factory
from django.utils import timezone

from articles.models import Article, Section
from tests.pictures.factories import ImageFactory


class SectionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Section
        django_get_or_create = ("slug",)

    name = factory.Sequence(lambda n: f"Section {n}")
    slug = factory.Sequence(lambda n: f"section-{n}")


class ArticleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Article
        skip_postgeneration_save = True

    headline = factory.Sequence(lambda n: f"Council denies everything, part {n}")
    body = "<p>The council said nothing had happened.</p><p>“Nothing at all,” it added.</p>"
    section = factory.LazyFunction(lambda: Section.objects.get(slug="news"))
    status = Article.Status.PUBLISHED
    published_at = factory.LazyFunction(lambda: timezone.now() - timedelta(hours=1))

    class Params:
        draft = factory.Trait(status=Article.Status.DRAFT, published_at=None)
        in_review = factory.Trait(status=Article.Status.REVIEW, published_at=None)
        scheduled = factory.Trait(
            published_at=factory.LazyFunction(lambda: timezone.now() + timedelta(days=1))
        )
        withdrawn = factory.Trait(
            status=Article.Status.WITHDRAWN,
            withdrawn_reason=Article.WithdrawalReason.EDITORIAL,
        )
        # A library picture (a real JPEG made by Pillow, with its renditions), described.
        with_hero = factory.Trait(hero_image=factory.SubFactory(ImageFactory))
        legal_takedown = factory.Trait(
            status=Article.Status.WITHDRAWN,
            withdrawn_reason=Article.WithdrawalReason.LEGAL,
        )

    @factory.post_generation
    def authors(self, create, extracted, **kwargs):
        if create and extracted:
            self.authors.set(extracted)

    @factory.post_generation
    def tags(self, create, extracted, **kwargs):
        if create and extracted:
            self.tags.set(extracted)
