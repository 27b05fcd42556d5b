"""The surrogate keys of pictures and embeds (see `articles.surrogates`): every page showing
one carries its key, so a change to it (a new crop, credit or alt text, a licence run out)
purges those pages and no others."""


def image(pk: int) -> str:
    return f"i{pk}"


def embed(pk: int) -> str:
    return f"e{pk}"
