"""proxyx: explain expensive LLMs cheaply with screened proxy models."""

import os

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # before anything imports litellm

__version__ = "0.1.0"
