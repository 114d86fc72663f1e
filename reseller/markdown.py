"""Markdown an operator writes (payment instructions), shown to customers as HTML that can carry no script:
rendered by Markdown, then cleaned by nh3 (an allow-list of tags and attributes, safe URL schemes only)."""

import markdown
import nh3
from django.utils.safestring import SafeString, mark_safe


def markdown_html(text: str) -> SafeString:
    # Raw HTML in the source reaches nh3 too: whatever is not on its allow-list (scripts, styles,
    # event attributes, javascript: links) is dropped.
    rendered = markdown.markdown(text or "", extensions=["sane_lists"], output_format="html")
    return mark_safe(nh3.clean(rendered))  # noqa: S308 - cleaned by nh3 just now
