"""audioguide: turn a written article into an accessible audio edition."""

__version__ = "0.1.0"
