"""The notifications app's services: recording (events once, with their copies and deliveries), the inbox and
preferences, mail, webhooks and chat, and the health check."""
