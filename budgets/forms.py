"""The allocation's form (the admin's): funding shares typed as fractions (1/3) or per cents (33,34)."""

from __future__ import annotations

from fractions import Fraction

from django import forms
from django.utils.translation import gettext_lazy

from .models import Allocation, StateNotice
from .shares import SHARES, ShareError, format_share, parse_share


class ShareField(forms.CharField):
    """One funding share: "1/3", "33,34", "33,34 %", "0"; empty is 0."""

    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        kwargs.setdefault("max_length", 40)
        kwargs.setdefault("help_text", gettext_lazy("als Bruch (1/3) oder in Prozent (33,34)"))
        super().__init__(**kwargs)

    def clean(self, value) -> Fraction:
        text = super().clean(value)  # a string within the length
        try:
            return parse_share(text)
        except ShareError as error:
            raise forms.ValidationError(str(error), code="invalid") from None


class SharesForm(forms.ModelForm):
    """The four funding shares of a model with shares (``FundingShares``), typed as fractions or per cents."""

    federal = ShareField(label=gettext_lazy("Anteil Bund"))
    state = ShareField(label=gettext_lazy("Anteil Land"))
    municipal = ShareField(label=gettext_lazy("Anteil Kommune"))
    private = ShareField(label=gettext_lazy("Anteil Private"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            for share in SHARES:
                self.initial[share] = format_share(getattr(self.instance, f"{share}_share"))

    def clean(self):
        data = super().clean()
        shares = {share: data.get(share) for share in SHARES}
        if all(value is not None for value in shares.values()):
            self.instance.set_shares(shares)  # type: ignore[arg-type]  # the model checks they make exactly one
        return data


class StateNoticeForm(SharesForm):
    """The state's funding notice in the admin: number, dates, eligible total, shares exactly one, period."""

    class Meta:
        model = StateNotice
        fields = ["municipality", "number", "issued_on", "funding_body", "eligible_total", "period_start", "period_end"]


class AllocationForm(forms.ModelForm):
    """Amount and shares of an allocation; the shares must add up to exactly one (100 %)."""

    federal = ShareField(label=gettext_lazy("Anteil Bund"))
    state = ShareField(label=gettext_lazy("Anteil Land"))
    municipal = ShareField(label=gettext_lazy("Anteil Kommune"))
    private = ShareField(label=gettext_lazy("Anteil Private"))

    class Meta:
        model = Allocation
        fields = ["programme", "year", "amount", "state_notice"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            for share in SHARES:
                self.initial[share] = format_share(getattr(self.instance, f"{share}_share"))

    def clean(self):
        data = super().clean()
        if "amount" not in self.fields:
            return data  # booked against: the admin shows the allocation read-only
        shares = {share: data.get(share) for share in SHARES}
        if all(value is not None for value in shares.values()):
            self.instance.set_shares(shares)  # type: ignore[arg-type]  # the model checks they make exactly one
        return data
