from __future__ import annotations

from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "readerstudy.audit"
    label = "audit"
    verbose_name = "Audit"

    def ready(self) -> None:
        from django.contrib.auth import signals as auth
        from django.db.models import signals as model

        from readerstudy.accounts.models import User
        from readerstudy.audit import signals

        uid = "readerstudy.audit"
        auth.user_logged_in.connect(signals.on_logged_in, dispatch_uid=f"{uid}.login")
        auth.user_logged_out.connect(signals.on_logged_out, dispatch_uid=f"{uid}.logout")
        auth.user_login_failed.connect(signals.on_login_failed, dispatch_uid=f"{uid}.failed")
        model.pre_save.connect(signals.on_user_pre_save, sender=User, dispatch_uid=f"{uid}.pre")
        model.post_save.connect(signals.on_user_post_save, sender=User, dispatch_uid=f"{uid}.post")
        model.m2m_changed.connect(
            signals.on_groups_changed, sender=User.groups.through, dispatch_uid=f"{uid}.groups"
        )
        model.m2m_changed.connect(
            signals.on_user_permissions_changed,
            sender=User.user_permissions.through,
            dispatch_uid=f"{uid}.permissions",
        )
