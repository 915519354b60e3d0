"""labrun: hands-on MLOps labs that provision, grade and always clean up after themselves."""

__version__ = "0.1.0"
