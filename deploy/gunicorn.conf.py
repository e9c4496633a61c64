# gunicorn configuration for the LiteLLM proxy accelerated by fast_litellm.
#
# Equivalent to the deployment guide's command line:
#
#     gunicorn app:app --preload -w 4 -k uvicorn.workers.UvicornWorker -b 0.0.0.0:4000
#
# Use it with:  gunicorn -c gunicorn.conf.py app:app
# (app.py is the two-line wrapper: `import fast_litellm` first, then the proxy app.)

import multiprocessing
import os

# Import app.py once in the master, before forking (--preload). fast_litellm is then
# imported before litellm, and every worker inherits the patched LiteLLM copy-on-write.
# Without it each worker imports app.py on its own.
preload_app = True

# LiteLLM's proxy is an ASGI app: use uvicorn's worker, never gunicorn's default sync worker.
worker_class = "uvicorn.workers.UvicornWorker"

# Where to listen. PORT overrides the port (a bare port number or a full host:port).
_port = os.environ.get("PORT", "4000")
bind = _port if ":" in _port else f"0.0.0.0:{_port}"

# Workers. The proxy is I/O-bound (workers mostly wait on upstream providers), so two
# workers per CPU is a starting point; benchmark from there. Each worker has its OWN
# connection pool (pools are shared within a worker, not across workers): too many workers
# fragment the pool and lose part of the pooling benefit. WEB_CONCURRENCY overrides.
workers = int(os.environ.get("WEB_CONCURRENCY", 2 * multiprocessing.cpu_count()))

# Seconds a worker gets to finish in-flight requests (streams included) after SIGTERM
# or a reload, before it is killed.
graceful_timeout = 30

# Seconds to keep an idle client connection open. Put it above the idle timeout of any
# load balancer in front so that the balancer, not gunicorn, closes idle connections.
keepalive = 75

# Log to stderr, where `fast_litellm: active components = [...]` appears at startup.
accesslog = "-"
errorlog = "-"
