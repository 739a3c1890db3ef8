"""The notifications app's services: recording (events once, fanned out), the inbox and
preferences, mail, webhooks and chat, and the health check."""
