"""The panes of the terminal explorer; each draws one model of the Workspace."""
