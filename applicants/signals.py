"""An API token is issued to staff only together with the second factor (applicants.api.ObtainTokenView).

A token an account got before it needed one (an owner's token, before the town gave the account a staff role
or admin access) would let it in without the code: such tokens are deleted the moment the account gains that.
"""

from __future__ import annotations

from django.db.models.signals import m2m_changed, post_save, pre_save
from django.dispatch import receiver
from rest_framework.authtoken.models import Token

from .models import User
from .rules import needs_second_factor


def drop_tokens_without_second_factor(user_ids) -> None:
    for user in User.objects.filter(pk__in=list(user_ids), auth_token__isnull=False):
        if needs_second_factor(user):
            Token.objects.filter(user=user).delete()


@receiver(m2m_changed, sender=User.groups.through)
def role_added(sender, instance, action, reverse, pk_set, **kwargs):
    if action == "post_add":
        drop_tokens_without_second_factor(pk_set if reverse else [instance.pk])


@receiver(pre_save, sender=User)
def remember_admin_flags(sender, instance, **kwargs):
    if instance.pk and (instance.is_staff or instance.is_superuser):
        before = User.objects.filter(pk=instance.pk).values("is_staff", "is_superuser").first() or {}
        instance._gains_admin_access = (instance.is_staff and not before.get("is_staff")) or (
            instance.is_superuser and not before.get("is_superuser")
        )


@receiver(post_save, sender=User)
def admin_access_given(sender, instance, created, **kwargs):
    if not created and getattr(instance, "_gains_admin_access", False):
        instance._gains_admin_access = False
        Token.objects.filter(user=instance).delete()
