"""The people: the customers who write to a business and the owner on the WhatsApp Business app (with its
companion devices)."""
