from django.apps import AppConfig, apps
from django.db.models.signals import post_migrate


def _roles_in_step(sender, **kwargs):
    """The roles follow every app's permissions: ``post_migrate`` is sent for each app in turn, and the auth
    app's handler makes that app's permissions only, so the roles wait for the last app (audit comes after
    this one: after a flush, as between transactional tests, the roles were left without the audit trail)."""
    if sender is not [config for config in apps.get_app_configs() if config.models_module][-1]:
        return
    from console.roles import roles_sync

    roles_sync()


def _cache_tables_in_step(sender, using, **kwargs):
    """The database cache (the embedded default) needs its table: made here so that ``migrate`` alone gives a
    working panel, and again after a change of cache settings. Nothing happens for other cache backends."""
    from django.core.management import call_command

    call_command("createcachetable", database=using, verbosity=0)


class ConsoleConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "console"
    verbose_name = "Operator console"

    def ready(self):
        # After the auth app's own post_migrate handler (connected first) made the permissions of new models.
        post_migrate.connect(_roles_in_step, dispatch_uid="console-roles")
        post_migrate.connect(_cache_tables_in_step, sender=self, dispatch_uid="console-cache-tables")
        _json_fields_as_text()
        _list_headers_once()
        _action_checkboxes_drawn_once()


def _json_fields_as_text():
    """django-unfold colours a read-only JSON field with pygments' ``style`` attributes, which the
    Content-Security-Policy refuses: such a field is shown as its JSON text instead (unfold's fallback)."""
    import unfold.fields

    unfold.fields.prettify_json = lambda data, encoder: None


def _list_headers_once():
    """django-unfold's change list works out its column headers (labels, sorting links) again for every row it
    draws, to label the cells on a phone: the same headers a hundred times a page. Once per list here."""
    from unfold.templatetags import unfold_list

    headers_of = unfold_list.result_headers

    def result_headers(changelist):
        if not hasattr(changelist, "unfold_headers"):
            changelist.unfold_headers = list(headers_of(changelist))
        return changelist.unfold_headers

    unfold_list.result_headers = result_headers


def _action_checkboxes_drawn_once():
    """django-unfold draws each row's action checkbox through the form renderer's template: a third of a
    100-row list's rendering. The checkbox is the same for every row but its value (the row's id), so it is
    drawn once per language (its label is translated) and the id put in."""
    from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
    from django.utils.html import conditional_escape
    from django.utils.safestring import mark_safe
    from django.utils.translation import get_language
    from unfold import admin as unfold_admin

    placeholder = "__row_id__"
    drawn: dict[str | None, str] = {}
    original = unfold_admin.ModelAdmin.action_checkbox

    def action_checkbox(self, obj):
        language = get_language()
        if language not in drawn:
            drawn[language] = str(unfold_admin.checkbox.render(ACTION_CHECKBOX_NAME, placeholder))
        return mark_safe(drawn[language].replace(placeholder, conditional_escape(str(obj.pk))))  # noqa: S308

    action_checkbox.short_description = original.short_description
    unfold_admin.ModelAdmin.action_checkbox = action_checkbox
