"""The audit trail in the admin: a read-only list, and the mixin that records every change-form save and
every delete of every model page."""

from django import forms
from django.contrib import admin
from django.core.exceptions import FieldDoesNotExist
from django.db import models, transaction
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html, format_html_join

from audit.models import AuditEntry
from audit.services import audit_changes, audit_record, audited_values
from reseller.admin_tools import ReadOnlyAdmin


def sees_everyones_audit(user) -> bool:
    """The Owner reads the whole trail; Support reads only what it did itself."""
    return user.has_perm("audit.view_everyones_auditentry")


def _audited_fields(model, form_fields) -> dict[str, models.Field]:
    """The model fields a form edits (concrete and many-to-many), by name."""
    fields = {}
    for name in form_fields:
        try:
            field = model._meta.get_field(name)
        except FieldDoesNotExist:  # a form-only field: allow_loss, password1…
            continue
        if field.concrete or field.many_to_many:
            fields[name] = field
    return fields


def _secrets(form_fields) -> set[str]:
    """A form's secrets: the fields drawn as password boxes (a provider's key, a new password)."""
    return {name for name, field in form_fields.items() if isinstance(field.widget, forms.PasswordInput)}


def _stored(obj, fields):
    """``obj`` as the database holds it now (the form has already written the posted values on ``obj``)."""
    stored = type(obj)._default_manager.filter(pk=obj.pk).first() if obj.pk else None
    return audited_values(stored, fields) if stored is not None else {}


class AuditedAdmin:
    """Records each add, change and delete made on a model page, with what changed — the page's inlines
    and many-to-many choices too — in the transaction of the save. A secret (a field drawn as a password
    box, or named in ``SECRET_FIELDS``) is recorded as changed, never with its value. A save that changes
    nothing records nothing."""

    def save_model(self, request, obj, form, change):
        fields = _audited_fields(type(obj), form.fields)
        form.audit_before = _stored(obj, fields) if change else {}
        super().save_model(request, obj, form, change)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        obj = form.instance
        fields = _audited_fields(type(obj), form.fields)
        changes = audit_changes(
            getattr(form, "audit_before", {}), audited_values(obj, fields), secret=_secrets(form.fields)
        )
        if changes or not change:
            audit_record(actor=request.user, verb="change" if change else "add", target=obj, changes=changes)

    def save_formset(self, request, form, formset, change):
        fields = _audited_fields(formset.model, formset.form.base_fields)
        secret = _secrets(formset.form.base_fields)
        stored = {
            obj.pk: audited_values(obj, fields)
            for obj in formset.model._default_manager.filter(
                pk__in=[f.instance.pk for f in formset.initial_forms if f.instance.pk]
            )
        }
        super().save_formset(request, form, formset, change)
        for obj in formset.new_objects:
            audit_record(
                actor=request.user,
                verb="add",
                target=obj,
                changes=audit_changes({}, audited_values(obj, fields), secret=secret),
            )
        for obj, _names in formset.changed_objects:
            changes = audit_changes(stored.get(obj.pk, {}), audited_values(obj, fields), secret=secret)
            if changes:
                audit_record(actor=request.user, verb="change", target=obj, changes=changes)
        for obj in formset.deleted_objects:
            audit_record(
                actor=request.user,
                verb="delete",
                target=obj,
                changes=audit_changes(stored.get(obj.pk, {}), {}),
            )

    def delete_model(self, request, obj):
        with transaction.atomic():
            self._record_deletion(request, obj)
            super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        with transaction.atomic():
            for obj in queryset:
                self._record_deletion(request, obj)
            super().delete_queryset(request, queryset)

    def _record_deletion(self, request, obj) -> None:
        fields = {
            field.name: field
            for field in type(obj)._meta.concrete_fields
            if field.editable and not field.primary_key
        }
        audit_record(
            actor=request.user,
            verb="delete",
            target=obj,
            changes=audit_changes(audited_values(obj, fields), {}),
        )


class ActionFilter(admin.SimpleListFilter):
    """The actions this user's rows hold (``action`` takes any value: a filter of the values there are)."""

    title = "action"
    parameter_name = "action"

    def lookups(self, request, model_admin):
        actions = model_admin.get_queryset(request).order_by("action").values_list("action", flat=True)
        return [(action, action) for action in actions.distinct()]

    def queryset(self, request, queryset):
        return queryset.filter(action=self.value()) if self.value() else queryset


class AuditEntryAdmin(ReadOnlyAdmin):
    """Who did what to which object, from what to what, and why. Nobody edits or deletes it here."""

    list_display = ["created_at", "who", "action", "object_link", "changes_shown", "reason"]
    list_filter = [
        ("actor", admin.RelatedOnlyFieldListFilter),
        ActionFilter,
        ("target_type", admin.RelatedOnlyFieldListFilter),
        "created_at",
    ]
    search_fields = ["target_repr", "=target_id", "reason", "actor_name"]
    list_select_related = ["target_type"]
    date_hierarchy = "created_at"
    list_per_page = 100
    fields = [
        "created_at",
        "actor",
        "actor_name",
        "action",
        "target_type",
        "target_id",
        "object_link",
        "changes_shown",
        "reason",
    ]
    readonly_fields = fields

    def get_queryset(self, request):
        entries = super().get_queryset(request)
        return entries if sees_everyones_audit(request.user) else entries.filter(actor=request.user)

    @admin.display(description="Actor", ordering="actor_name")
    def who(self, entry):
        return entry.actor_name or "(a command)"

    @admin.display(description="Object")
    def object_link(self, entry):
        if entry.target_type is None or not entry.target_id:
            return entry.target_repr
        opts = entry.target_type
        try:
            url = reverse(f"admin:{opts.app_label}_{opts.model}_change", args=[entry.target_id])
        except NoReverseMatch:
            return entry.target_repr
        return format_html('<a href="{}">{}</a>', url, entry.target_repr)

    @admin.display(description="Before → after")
    def changes_shown(self, entry):
        if not entry.changes:
            return "—"
        return format_html_join(
            "", "<div>{}: {} → {}</div>", ((name, *_pair(value)) for name, value in entry.changes.items())
        )


def _pair(change: list) -> tuple[str, ...]:
    """A field's ``[before, after]`` as read: nothing as a dash, a many-to-many choice as its names."""
    return tuple(
        "—" if side is None else ", ".join(side) if isinstance(side, list) else str(side) for side in change
    )


# Every model page of the site — the panel's and the packages' (schedules, lockouts, two-factor devices,
# groups) — records its saves and deletes: a page added later is audited without anyone remembering to.
# This module is imported last (``audit`` is the last installed app), after every other admin module.
for _model, _model_admin in list(admin.site._registry.items()):
    if not isinstance(_model_admin, AuditedAdmin):
        admin.site.unregister(_model)
        admin.site.register(_model, type(type(_model_admin).__name__, (AuditedAdmin, type(_model_admin)), {}))

admin.site.register(AuditEntry, AuditEntryAdmin)
