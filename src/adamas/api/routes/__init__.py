"""Route modules, one per resource group; each exposes a FastAPI ``router``."""
