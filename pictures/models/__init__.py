"""The media library: pictures (`Image`) and the snapshots of embedded posts and videos
(`Embed`), each used by any number of stories."""

from .embed import Embed
from .image import Image, ImageQuerySet, Licence, shown

__all__ = ["Embed", "Image", "ImageQuerySet", "Licence", "shown"]
