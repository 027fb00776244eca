"""The Telegram side of the support bot: settings, handlers, services and the ``supportbot`` CLI."""
