"""Pure data models both front ends draw: trace events, the bounded trace buffer, the topic tree.

No I/O and no presentation: ``events`` (the typed trace events), ``trace`` (``TraceBuffer``,
the JSON form of events, JSONL and pcapng export), ``topictree`` (``TopicTree`` with counts,
history, retained marks and listener hooks for item models).
"""
