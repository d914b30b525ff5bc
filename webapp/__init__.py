"""Flask web front end (application factory and blueprints arrive with the web issue)."""
