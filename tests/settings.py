"""Settings for the test process: the product's settings without the connection pool.

Django's test client does not return a thread's connection at the end of a request
(it keeps the test transaction's connection open on purpose), and the suite's
thread and job-runner helpers manage per-thread connections themselves; a bounded
pool would make those tests wait for connections that are only given back when a
thread ends. Servers started by the tests run with the product's settings.
"""

from stitch.settings import *  # noqa: F403
from stitch.settings import DATABASES, VAR_DIR

DATABASES["default"]["OPTIONS"].pop("pool", None)
DATABASES["default"]["CONN_MAX_AGE"] = 60

# PBKDF2 costs ~0.3 s of CPU per user created; the suite creates hundreds. PBKDF2 stays
# available for users who sign in to a server started by a test (product settings).
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.MD5PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]

# The test process's own metrics files, apart from a demo server of this checkout
# (servers started by tests get a directory of their own, tests/ops).
METRICS_DIR = VAR_DIR / "test-metrics"
# Fixed secrets for the suite, whatever a var/settings.env of this checkout holds; the
# servers tests start as subprocesses get the same ones (tests.entities.live_servers),
# so callback tokens and sessions minted on one side are valid on the other.
SECRET_KEY = "test-only-secret-key-" + "k" * 40
WORKER_SECRETS = ["test-only-worker-secret-" + "w" * 40]
