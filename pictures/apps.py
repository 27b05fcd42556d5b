from django.apps import AppConfig


class PicturesConfig(AppConfig):
    name = "pictures"
    verbose_name = "Pictures and embeds"

    def ready(self):
        from . import signals

        signals.connect()
