import factory

from accounts.models import Author, User


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"staffer{n}")
    email = factory.LazyAttribute(lambda user: f"{user.username}@newsroom.test")
    password = factory.django.Password("correct horse battery staple")


class AuthorFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Author

    name = factory.Sequence(lambda n: f"Reporter Number {n}")
    job_title = "Reporter"
