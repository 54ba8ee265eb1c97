"""Marker for translatable messages produced by pure code.

The domain cannot translate (it does not know the reader's language); it returns message ids
that the web layer translates. ``N_`` marks them for extraction into the catalogues.
"""


def N_(message: str) -> str:
    return message
