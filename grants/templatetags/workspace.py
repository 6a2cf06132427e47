"""Template helpers of the workspace: KERN UX form widgets and sort links. No business rule here."""

from django import forms, template
from django.utils.html import format_html

register = template.Library()


@register.filter
def kern_widget(field):
    """The field's widget with KERN classes, its hint and error linked through aria-describedby."""
    widget = field.field.widget
    if isinstance(widget, forms.Select):
        css = "kern-form-input__select"
    elif isinstance(widget, forms.CheckboxInput):
        css = "kern-form-check__checkbox"
    else:
        css = "kern-form-input__input"
    described = []
    if field.help_text:
        described.append(f"{field.auto_id}-hint")
    attrs = {"class": css}
    if field.errors:
        attrs["class"] += f" {css}--error"
        attrs["aria-invalid"] = "true"
        described.append(f"{field.auto_id}-error")
    if described:
        attrs["aria-describedby"] = " ".join(described)
    return field.as_widget(attrs=attrs)


@register.simple_tag
def sort_link(current: str, key: str, query: str):
    """The query string that sorts by ``key``, flipping the direction when it is already the sort."""
    params = [p for p in query.split("&") if p and not p.startswith("sort=")]
    target = f"-{key}" if current == key else key
    return "?" + "&".join([*params, f"sort={target}"])


@register.simple_tag
def sort_state(current: str, key: str) -> str:
    if current == key:
        return "ascending"
    if current == f"-{key}":
        return "descending"
    return "none"


@register.simple_tag
def page_link(query: str, number: int) -> str:
    return format_html("?{}page={}", f"{query}&" if query else "", number)
