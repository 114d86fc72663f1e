from django import template

from reseller.markdown import markdown_html

register = template.Library()


@register.filter(name="markdown")
def markdown_filter(text: str):
    return markdown_html(text)
