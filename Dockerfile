# Guichet application image; docker-compose.yml pairs it with PostgreSQL.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app

COPY . .
# Editable install on purpose: the code finds frontend/ and migrations/ next to server/
# (settings.REPO_ROOT), so server/ must be imported from /app, not site-packages.
RUN pip install --no-cache-dir -e . \
    && useradd --system --home-dir /app guichet \
    && mkdir -p /app/var && chown guichet:guichet /app/var

# Run unprivileged. /app/var (attachments, mails written to files) is a volume; a new
# named volume copies the ownership of the directory made above.
USER guichet
EXPOSE 8000
CMD ["sh", "-c", "guichet migrate && exec guichet serve"]
