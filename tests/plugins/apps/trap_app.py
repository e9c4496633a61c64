import plugins.trap_pkg  # noqa: F401  (its __init__ imports litellm first)
import fast_litellm  # noqa: F401
from litellm.proxy.proxy_server import app  # noqa: F401
