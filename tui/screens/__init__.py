"""Screens of the terminal explorer: the main view and the dialogs pushed over it."""
