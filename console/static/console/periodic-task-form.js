// The periodic task form (django-celery-beat): under the crontab field, what the chosen schedule means.
// A file rather than the package's inline script, for the Content-Security-Policy.
"use strict";
{
  const $ = django.jQuery;
  const help = document.getElementById("periodic-task-overrides").dataset.crontabHelp;
  const readableCrontabs = JSON.parse(document.getElementById("readable-crontabs").textContent);
  $(".field-crontab_translation").hide();
  $(".field-crontab").change(() => {
    const translation = readableCrontabs[$("#id_crontab").val()];
    $(".field-crontab .help").empty().append(document.createTextNode(help), "<br>", document.createTextNode(`Translation: ${translation}`));
  });
}
