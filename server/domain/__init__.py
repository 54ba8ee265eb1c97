"""Pure rules of Guichet: no I/O, no clock, no framework imports."""
