"""The platform: Meta's Graph API and 360dialog's API, the rules they enforce on sends, media,
templates, the business profile, pricing, webhook payloads and their delivery, and the history export."""
