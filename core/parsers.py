"""The API's parsers: every body they cannot read is a 400 in words, in the error format of core.api.

Apart from core.api because DRF's views read DEFAULT_PARSER_CLASSES when they are imported, and
core.api imports DRF's views (for its exception handler).
"""

from __future__ import annotations

import codecs
import json
from typing import Any

from django.conf import settings
from django.utils.translation import gettext as _
from rest_framework import exceptions, parsers

# No body the API takes is nested more than a few levels (application → components → costs); a deeper
# one is refused before anything walks it, so no recursion anywhere can reach Python's limit.
MAX_JSON_DEPTH = 32


def _deeper_than(data: Any, limit: int) -> bool:
    stack = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict | list):
            if depth > limit:
                return True
            stack.extend((child, depth + 1) for child in (value.values() if isinstance(value, dict) else value))
    return False


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser, answering every unreadable body with a 400 in words: also one nested too deep.

    DRF's own catches only ValueError; a body nested a thousand levels raises RecursionError (a 500).
    """

    def parse(self, stream, media_type=None, parser_context=None):
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        try:
            data = json.load(
                codecs.getreader(encoding)(stream), parse_constant=_refuse_constant if self.strict else None
            )
        except RecursionError:
            raise exceptions.ParseError(_too_deep_message()) from None
        except json.JSONDecodeError as error:
            raise exceptions.ParseError(
                _("Der Inhalt ist kein gültiges JSON (Zeile %(line)s, Spalte %(column)s).")
                % {"line": error.lineno, "column": error.colno}
            ) from None
        except UnicodeDecodeError:
            raise exceptions.ParseError(
                _("Der Inhalt ist nicht in %(encoding)s kodiert.") % {"encoding": encoding}
            ) from None
        except ValueError:  # NaN or Infinity, a number of more than 4,300 digits
            raise exceptions.ParseError(
                _("Der Inhalt enthält einen Wert, den JSON nicht kennt (NaN, Infinity) oder eine zu lange Zahl.")
            ) from None
        if _deeper_than(data, MAX_JSON_DEPTH):
            raise exceptions.ParseError(_too_deep_message())
        return data


class MultiPartParser(parsers.MultiPartParser):
    """DRF's multipart parser, its refusal in German."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return super().parse(stream, media_type, parser_context)
        except exceptions.ParseError:
            raise exceptions.ParseError(
                _("Der Inhalt ist kein lesbares multipart/form-data (Grenze oder Teile fehlen).")
            ) from None


def _refuse_constant(name: str):
    raise ValueError(name)


def _too_deep_message() -> str:
    return _("Der JSON-Inhalt ist zu tief verschachtelt (höchstens %(depth)s Ebenen).") % {"depth": MAX_JSON_DEPTH}
