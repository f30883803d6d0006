"""Pure domain: facts from webhooks, identities and rules. Imports nothing but the stdlib."""
