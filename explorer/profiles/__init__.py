"""Connection profiles and their secrets: the edge to the user's files and the OS keyring.

``store`` (``ProfileStore``: ``profiles.toml``, atomic writes, mode 0600), ``format`` (the TOML
shape of one profile, both ways), ``validate`` (errors that name the line and key),
``importers`` (MQTTX, MQTT Explorer and our own exports) and ``secret_store`` (the OS keyring;
an in-memory store for tests). The file holds references to secrets, never the secrets.
"""
