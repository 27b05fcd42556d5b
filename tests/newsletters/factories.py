import factory
from django.utils import timezone

from newsletters.models import Edition, EditionStory, Newsletter, Subscription
from tests.articles.factories import ArticleFactory, SectionFactory


class NewsletterFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Newsletter
        django_get_or_create = ("slug",)

    name = factory.Sequence(lambda n: f"Bulletin {n}")
    slug = factory.Sequence(lambda n: f"bulletin-{n}")
    description = "The stories everyone is talking about."
    cadence = "Every weekday"
    is_public = True

    class Params:
        private = factory.Trait(is_public=False)


class SubscriptionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Subscription

    email = factory.Sequence(lambda n: f"reader{n}@example.com")
    newsletter = factory.SubFactory(NewsletterFactory)
    status = Subscription.Status.PENDING
    consent_at = factory.LazyFunction(timezone.now)

    class Params:
        confirmed = factory.Trait(
            status=Subscription.Status.CONFIRMED, confirmed_at=factory.LazyFunction(timezone.now)
        )
        unsubscribed = factory.Trait(
            status=Subscription.Status.UNSUBSCRIBED,
            unsubscribed_at=factory.LazyFunction(timezone.now),
        )


class EditionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Edition
        skip_postgeneration_save = True

    newsletter = factory.SubFactory(NewsletterFactory)
    subject = factory.Sequence(lambda n: f"Your morning racket, number {n}")
    intro = "Good morning.\n\nHere is what the council would rather you did not read."

    @factory.post_generation
    def stories(self, create, extracted, **kwargs):
        """EditionFactory(stories=[article, …]) in that order; by default two fresh stories."""
        if not create:
            return
        if extracted is None:
            # get_or_create: transactional tests empty the tables, migrations' rows included.
            news = SectionFactory(slug="news", name="News")
            extracted = ArticleFactory.create_batch(2, section=news)
        articles = extracted
        for position, article in enumerate(articles):
            EditionStory.objects.create(edition=self, article=article, position=position)
