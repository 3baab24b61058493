"""The HTTP face of Adamas (FastAPI)."""
