"""Presentation shared by HTTP pages and websocket pushes: board columns, the ticket page's
context, filters read from a query string, labels. ``server.web`` and ``server.realtime`` both
import from here; neither imports the other's presentation, and nothing here imports
``server.web``."""
