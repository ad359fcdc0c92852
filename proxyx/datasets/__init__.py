"""Built-in data sets beyond ``fine_foods`` (which lives in ``proxyx.data``).

    faq     the Debian FAQ as a retrieval set: question -> gold passage (its answer)
"""

from .faq import FaqItem, faq_path, fetch_faq, load_faq, parse_faq, source_path

__all__ = ["FaqItem", "faq_path", "fetch_faq", "load_faq", "parse_faq", "source_path"]
