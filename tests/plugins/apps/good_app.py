import fast_litellm  # noqa: F401
from litellm.proxy.proxy_server import app  # noqa: F401
