"""What both front ends show, made once: texts, payload views and view models.

Nothing here imports a UI toolkit or opens a socket; the TUI and the GUI render these values
and never re-derive them. ``status`` (the connection status snapshot and the fields of the
status line, with one severity rule), ``diagnosis`` (the diagnoser's verdict as sentences and
rows, "Connect with this" offers), ``profileform`` and ``profileedit`` (the profile editors' form and
flow), ``message`` (the message view: header, previous-message diff, property, history and chart
rows), ``eventtext`` (one-line texts and display bytes of trace
events), ``listing`` (the text listing of ``decode`` and ``sub --trace``), ``payload`` (text,
JSON, hex, base64, numbers, diffs).
"""
