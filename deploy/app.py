import fast_litellm  # 1. accelerate first
from litellm.proxy.proxy_server import app  # 2. then load the proxy
