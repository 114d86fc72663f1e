// The periodic task form (django-celery-beat): under the crontab field, what the chosen schedule means.
// A file rather than the package's inline script, for the Content-Security-Policy.
"use strict";
{
  const $ = django.jQuery;
  const readableCrontabs = JSON.parse(document.getElementById("readable-crontabs").textContent);
  $(".field-crontab_translation").hide();
  $(".field-crontab").change(() => {
    const translation = readableCrontabs[$("#id_crontab").val()];
    let line = $("#crontab-translation");
    if (!line.length) {
      line = $('<div id="crontab-translation" class="help leading-relaxed mt-2 text-xs"></div>').appendTo(".field-crontab");
    }
    line.text(`Translation: ${translation}`);
  });
}
