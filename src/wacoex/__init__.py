"""wacoex: one WhatsApp number, the Business app and the Cloud API, one durable record."""

__version__ = "0.1.0"
