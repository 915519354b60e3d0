"""mlmetrics: small, dependency-free metrics for binary classifiers."""

from mlmetrics.classification import accuracy, confusion_counts, f1, precision, recall

__all__ = ["accuracy", "confusion_counts", "f1", "precision", "recall"]
__version__ = "0.1.0"
