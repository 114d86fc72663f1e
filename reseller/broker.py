"""The embedded default's Celery broker: kombu's filesystem transport, with messages that appear whole.

kombu writes a message file in place (create, then write). A worker listing the folder in between moves the
file away and reads it empty; the JSON error that follows stops the worker ("Unrecoverable error"), and with
it the demo panel. Here a message is written beside its final name and renamed into place: ``os.replace`` is
atomic, so a consumer sees a whole message or none.
"""

import os
import uuid
from time import monotonic

from kombu.exceptions import ChannelError
from kombu.transport import filesystem
from kombu.utils.encoding import str_to_bytes
from kombu.utils.json import dumps


class Channel(filesystem.Channel):
    def _put(self, queue, payload, **kwargs):
        name = f"{round(monotonic() * 1000)}_{uuid.uuid4()}.{queue}.msg"
        final = os.path.join(self.data_folder_out, name)
        # Not a message of any queue until renamed: consumers match names ending in ".<queue>.msg".
        partial = f"{final}.writing"
        try:
            with open(partial, "wb") as message:
                message.write(str_to_bytes(dumps(payload)))
            os.replace(partial, final)
        except OSError as exc:
            raise ChannelError(f"Cannot add file {final!r} to directory") from exc


class Transport(filesystem.Transport):
    Channel = Channel
