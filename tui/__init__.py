"""The terminal explorer (Textual). Views only: all protocol logic lives in ``explorer``."""
