"""Live updates: the event bus, the websocket endpoint and per-viewer fragment rendering."""
