"""Settings pages (admins): templates and playbooks, notification channels and routing, users and teams."""
