# A package whose __init__ imports litellm: the deployment guide's "most common culprit".
import litellm  # noqa: F401
