from django.apps import AppConfig


class ArticlesConfig(AppConfig):
    name = "articles"
    verbose_name = "Stories"

    def ready(self):
        from newsroom.cache import read_with_pages
        from newsroom.fragments import names_read

        from . import signals
        from .context_processors import CHROME

        signals.connect()
        # What every page shows, read in the round trip that finds a page not cached.
        read_with_pages(*names_read(CHROME))
