"""The one error the parser raises."""


class ParseError(ValueError):
    """Bad input, with a reason fit to show an editor: "file is empty", "headline only"."""
