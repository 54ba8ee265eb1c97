"""HTTP adapters: thin handlers for HTML pages, htmx fragments and the JSON API."""
