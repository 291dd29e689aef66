"""Deciding from Microsoft Teams: Adaptive Cards posted through the Bot Connector and kept up to
date, and the activities their buttons send, authenticated as the Bot Framework signs them."""
