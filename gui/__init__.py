"""The desktop explorer (PySide6 + qasync). Views only: all protocol logic lives in ``explorer``."""
