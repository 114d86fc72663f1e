# The panel's image: web (gunicorn), worker and beat all run from it.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DJANGO_SETTINGS_MODULE=reseller.settings.production

WORKDIR /app
COPY requirements.lock .
RUN pip install --no-cache-dir -r requirements.lock

COPY . .
# Static files are collected at build time; the secret here only lets settings load.
RUN DJANGO_SECRET_KEY=build-only DJANGO_ALLOWED_HOSTS=localhost python manage.py collectstatic --noinput \
    && useradd --system --home /app panel && mkdir -p /app/var/support-attachments && chown -R panel /app/var

USER panel
EXPOSE 8000
# The access log redacts API keys that resellers send in query strings (reseller/log.py).
CMD ["gunicorn", "reseller.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3", \
     "--timeout", "60", "--access-logfile", "-", "--logger-class", "reseller.log.GunicornLogger"]
