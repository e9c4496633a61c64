# The deployment guide's wrapper module: `gunicorn fast_litellm.app:app --preload ...`
import fast_litellm  # noqa: F401  # 1. accelerate first
from litellm.proxy.proxy_server import app  # noqa: E402,F401  # 2. then load the proxy
