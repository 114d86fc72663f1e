"""Admin building blocks shared by the apps."""

from django import forms
from django.contrib import admin
from django.shortcuts import render


class ReadOnlyAdmin(admin.ModelAdmin):
    """Records written by the system (logs, ledgers): the operator reads them, never edits them."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ReadOnlyInline(admin.TabularInline):
    """A history shown under its parent: every listed field read-only, nothing added or removed."""

    extra = 0
    max_num = 0
    can_delete = False

    def get_readonly_fields(self, request, obj=None):
        return self.fields


class ActionForm(forms.Form):
    """What an admin action asks before it runs; it sees the selected objects."""

    def __init__(self, *args, queryset, **kwargs):
        super().__init__(*args, **kwargs)
        self.queryset = queryset


def action_form(modeladmin, request, queryset, *, form_class, action: str, title: str, submit: str, help=""):
    """``(form, None)`` once the action's form was posted back valid; otherwise ``(form, page)``: the page
    asking for it (again, with its errors)."""
    form = form_class(request.POST if "confirmed" in request.POST else None, queryset=queryset)
    if form.is_bound and form.is_valid():
        return form, None
    context = {
        **modeladmin.admin_site.each_context(request),
        "title": title,
        "objects": queryset,
        "form": form,
        "action": action,
        "submit": submit,
        "help": help,
        "opts": modeladmin.model._meta,
    }
    return form, render(request, "admin/action_form.html", context)
