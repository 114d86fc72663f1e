"""The embedded broker never shows a consumer a message that is still being written."""

import os

from kombu import Connection
from kombu.transport import filesystem

from reseller import broker


def _queue_files(folder) -> list[str]:
    return [name for name in os.listdir(folder) if name.endswith(".sends.msg")]


def test_a_message_appears_whole_or_not_at_all(tmp_path, monkeypatch):
    """kombu's own filesystem transport fails this test: it creates the message file, then writes it."""
    seen_while_writing, serialize = [], filesystem.dumps

    def dumps(payload):
        # The moment a consumer could race the producer: the file is open, nothing written yet.
        seen_while_writing.extend(_queue_files(tmp_path))
        return serialize(payload)

    monkeypatch.setattr(filesystem, "dumps", dumps)
    monkeypatch.setattr(broker, "dumps", dumps)
    options = {
        "data_folder_in": str(tmp_path),
        "data_folder_out": str(tmp_path),
        "control_folder": str(tmp_path),
    }
    with Connection("filesystem://", transport=broker.Transport, transport_options=options) as connection:
        queue = connection.SimpleQueue("sends")
        queue.put({"order": 1})
        assert seen_while_writing == [], "a consumer listing the folder now would read an empty message"
        assert len(_queue_files(tmp_path)) == 1
        assert queue.get(timeout=1).payload == {"order": 1}
        queue.close()
