"""The engine that renders the wording staff edit (subject, body, letterhead, signatory, legal remedy).

It can load no other template and is given plain values only: no way from
``{{ applicant.user.password }}`` to a hash. The letter template's form checks a wording with it.
"""

from __future__ import annotations

from django.template import Engine

WORDING_ENGINE = Engine(libraries={"formatting": "grants.templatetags.formatting"})
