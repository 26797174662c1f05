"""The JSON API, /api/v1. Each domain module registers its endpoints on ``bp``."""
from . import accounts, openapi  # noqa: F401  (registers the endpoints)
from . import shifts  # noqa: F401,E402
from . import store  # noqa: F401,E402
from . import tips  # noqa: F401,E402
from . import checkins  # noqa: F401,E402
from . import recognition  # noqa: F401,E402
from . import service  # noqa: F401,E402
from . import webhooks  # noqa: F401,E402
from . import callouts  # noqa: F401,E402
from . import sponsors  # noqa: F401,E402
from . import stations  # noqa: F401,E402
from . import care  # noqa: F401,E402
from . import mediation  # noqa: F401,E402
from . import publicity  # noqa: F401,E402
from . import notices  # noqa: F401,E402
from . import units  # noqa: F401,E402
from .base import bp  # noqa: F401,E402
