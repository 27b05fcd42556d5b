"""Filling a configuration template's `__NAME__` placeholders, for `deploy/nginx/render.py` and
`deploy/varnish/render.py` (each loads this file by its path: deploy/ is not a package)."""

import re
from pathlib import Path

PLACEHOLDER = re.compile(r"__[A-Z][A-Z_]*__")


def fill(template: Path, values: dict[str, str]) -> str:
    """The template's text with each `__KEY__` replaced by its value; ValueError naming any
    placeholder left unfilled (comment lines aside)."""
    text = template.read_text()
    for key, value in values.items():
        text = text.replace(f"__{key}__", value)
    # Placeholders only: a value may itself contain "__" (a temporary directory's name).
    lines = [line for line in text.splitlines() if not line.lstrip().startswith("#")]
    left = sorted(
        {m for line in lines for m in PLACEHOLDER.findall(line)} - {f"__{k}__" for k in values}
    )
    if left:
        raise ValueError(f"placeholders left unfilled: {', '.join(left)}")
    return text
