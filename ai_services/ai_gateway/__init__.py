"""AI gateway: the single front door of the CRM frontend's REST API."""
