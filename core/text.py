"""Free texts as people typed them, without the characters that only hide or reorder what is shown.

Every free text the API, the portal and the workspace accept (names, addresses, descriptions, comments,
notes, the Sachbericht, letter wording) passes ``clean_text`` through the fields here:
``TextSerializerField`` (DRF), ``TextFormField`` (Django forms), ``CleanTextModelSerializer`` and
``text_formfield`` for fields taken from a model. File names pass ``clean_line`` (grants.uploads).

``clean_text`` removes

- control characters: C0 (U+0000–U+001F) but the line feed and the tab, DEL (U+007F) and C1
  (U+0080–U+009F); a carriage return, alone or before a line feed, becomes one line feed, so a
  text typed in a browser's text area (CR LF) and one sent by the API (LF) are stored alike;
- the bidirectional embeddings, overrides and isolates U+202A–U+202E and U+2066–U+2069, which make
  a text read otherwise than it is stored (U+202E turns "exe.fdp" into "pdf.exe" on screen).

The marks U+200E, U+200F and U+061C (LRM, RLM, ALM) stay: they steer only the neutral characters
beside them, cannot reorder a run of text, and names written in Arabic or Hebrew need them.
"""

from __future__ import annotations

import re
import unicodedata

from django import forms
from django.core.validators import RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers
from rest_framework.fields import empty

BIDI_CONTROLS = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"

# A character that stays after cleaning and trimming: what a required text must hold at least one of.
# Python's \s is what str.strip() removes; the API schema states it as the pattern of required texts.
VISIBLE = r"[^\s\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]"

_UNWANTED = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f" + BIDI_CONTROLS + "]")
_LINE_BREAK = re.compile("\r\n?")


def clean_text(text: str) -> str:
    """The text without control characters (but line feed and tab) and bidirectional controls."""
    return _UNWANTED.sub("", _LINE_BREAK.sub("\n", text))


def clean_line(text: str) -> str:
    """One line (a file name): every control, format or separator character, line breaks too, becomes a space."""
    return "".join(" " if unicodedata.category(char).startswith(("C", "Z")) else char for char in text)


class TextSerializerField(serializers.CharField):
    """DRF's CharField for a free text: cleaned before it is checked, so a text of control characters only is blank.

    The limit applies to the text as sent (as the schema's maxLength says); a required text needs a
    character that is neither blank nor removed (the schema's pattern).
    """

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        if not self.allow_blank:
            self.validators.append(
                RegexValidator(VISIBLE, message=_("Dieses Feld darf nicht leer sein."), code="blank")
            )

    def run_validation(self, data=empty):
        if isinstance(data, str):
            if self.max_length is not None and len(data) > self.max_length:
                self.fail("max_length", max_length=self.max_length)
            data = clean_text(data)
        return super().run_validation(data)


class CleanTextMixin:
    """For a Django form field of free text: cleaned before Django strips and checks it."""

    def to_python(self, value):
        if isinstance(value, str):
            value = clean_text(value)
        return super().to_python(value)  # type: ignore[misc]


class TextFormField(CleanTextMixin, forms.CharField):
    pass


class CleanTextModelSerializer(serializers.ModelSerializer):
    # A ModelSerializer whose text fields taken from the model are TextSerializerFields
    # (a comment, not a docstring: the schema would show it as every subclass's description).

    serializer_field_mapping = {
        **serializers.ModelSerializer.serializer_field_mapping,
        models.CharField: TextSerializerField,
        models.TextField: TextSerializerField,
    }


def text_formfield(db_field: models.Field, **kwargs) -> forms.Field | None:
    """A ModelForm's ``formfield_callback``: the model's text fields as ``TextFormField``s, with their limits."""
    if isinstance(db_field, models.CharField | models.TextField) and not db_field.choices:
        kwargs.setdefault("form_class", TextFormField)
    return db_field.formfield(**kwargs)


def max_length_of(model: type[models.Model], name: str) -> int:
    """A text field's limit as the model declares it, for forms and serializers that take the field apart."""
    limit = model._meta.get_field(name).max_length  # type: ignore[union-attr]
    assert limit is not None, f"{model.__name__}.{name} declares no max_length"
    return limit
