"""Control for tests and demos: the ``/_emulator`` routes (platform and people), faults, scenarios and
the phone page."""
