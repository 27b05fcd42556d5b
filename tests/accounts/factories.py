import factory
from django.contrib.auth.models import Group

from accounts.models import Author, User
from accounts.roles import EDITOR, NEWSLETTER_EDITOR, REPORTER, sync_roles


def role_group(name: str) -> Group:
    """The real role group, with the permissions `sync_roles` gives it (run again if a flush
    has emptied the tables)."""
    group = Group.objects.filter(name=name).first()
    if group is None or not group.permissions.exists():
        sync_roles()
        group = Group.objects.get(name=name)
    return group


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"staffer{n}")
    email = factory.LazyAttribute(lambda user: f"{user.username}@newsroom.test")
    password = factory.django.Password("correct horse battery staple")

    class Params:
        # Staff in each editorial role, through the groups `accounts.roles` keeps in sync.
        reporter = factory.Trait(is_staff=True, roles__names=[REPORTER])
        editor = factory.Trait(is_staff=True, roles__names=[EDITOR])
        newsletter_editor = factory.Trait(is_staff=True, roles__names=[NEWSLETTER_EDITOR])
        superuser = factory.Trait(is_staff=True, is_superuser=True)

    @factory.post_generation
    def roles(self, create, extracted, **kwargs):
        """`UserFactory(roles=[EDITOR])`; the traits pass their role as `roles__names` (a trait
        cannot replace a post-generation declaration itself)."""
        names = extracted or kwargs.get("names")
        if create and names:
            self.groups.set([role_group(name) for name in names])


class AuthorFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Author

    name = factory.Sequence(lambda n: f"Reporter Number {n}")
    job_title = "Reporter"


def with_authenticator(user: User):
    """Set up an authenticator app for `user` as the set-up page does; returns the device and
    the recovery codes. `totp_code(device)` is what the app shows."""
    from accounts import services

    device, codes = services.set_up_authenticator(user, key=services.new_authenticator_key())
    return device, codes


def totp_code(device, *, steps_ahead: int = 0) -> str:
    """The code an authenticator app holding `device`'s key shows now (or that many 30-second
    steps later), computed from the key as the app does."""
    from django_otp.oath import TOTP

    totp = TOTP(device.bin_key, device.step, device.t0, device.digits)
    totp.time = totp.time + steps_ahead * device.step
    return f"{totp.token():0{device.digits}d}"
