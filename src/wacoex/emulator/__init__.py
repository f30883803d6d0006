"""The coexistence emulator: Meta's Graph API, 360dialog, the Business app and its customers, offline.

It imports nothing from the rest of wacoex: it is the oracle the gateway is tested against. Start it
with ``wacoex emulator`` or build the ASGI app with ``wacoex.emulator.app.create_app``.
"""
