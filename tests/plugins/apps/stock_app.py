from litellm.proxy.proxy_server import app  # noqa: F401
