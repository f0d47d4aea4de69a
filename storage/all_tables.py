"""Every table module, imported so `Base.metadata` is complete (Alembic and the test harness read it).

Add one line per new storage module.
"""

from storage import subjects  # noqa: F401
from storage import gitlab_identity  # noqa: F401
from storage import gitlab_entities  # noqa: F401
from storage import gitlab_subscriptions  # noqa: F401
from storage import customers  # noqa: F401
from storage import features  # noqa: F401
from storage import entitlements  # noqa: F401
from storage import gitlab_internal  # noqa: F401
from storage import meters  # noqa: F401
from storage import events  # noqa: F401
from storage import portal_tokens  # noqa: F401
from storage import notifications  # noqa: F401
from storage import catalog  # noqa: F401
from storage import subscriptions  # noqa: F401
