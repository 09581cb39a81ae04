from django.apps import AppConfig
from django.conf import settings


class ListenerappConfig(AppConfig):
    """Hears the engine's ``enum_changed`` in a ``manage.py`` process a test starts.

    A receiver connected in the test cannot hear a signal sent in another process: a test
    installing this app there (``tests.processes`` passes settings) names a file in
    ``HEARD_ENUM_CHANGES_FILE`` and reads the announcements from it afterwards.
    """

    name = "tests.listenerapp"
    label = "listenerapp"

    def ready(self) -> None:
        from betintel.enums.signals import enum_changed

        from .listener import write_to

        path = getattr(settings, "HEARD_ENUM_CHANGES_FILE", None)
        if path:
            enum_changed.connect(write_to(path), weak=False, dispatch_uid="listenerapp.heard")
