"""Connected sources: a CRM database, a REST API or a watched folder, pulled on a schedule, incrementally."""
