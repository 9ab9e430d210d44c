"""The rules editor: pages, REST API and the logic they share."""
