"""Build of the C extension ``fast_litellm._native`` (metadata lives in pyproject.toml)."""

import glob
import os

from setuptools import Extension, setup

CFLAGS = ["-std=c11", "-Wall", "-Wextra", "-Werror", "-O2", "-fvisibility=hidden"]
# FAST_LITELLM_SANITIZE=1 builds with ASan/UBSan (make asan-test).
if os.environ.get("FAST_LITELLM_SANITIZE"):
    CFLAGS += ["-O1", "-g", "-fno-omit-frame-pointer",
               "-fsanitize=address,undefined", "-fno-sanitize-recover=undefined"]
LDFLAGS = ["-fsanitize=address,undefined"] if os.environ.get("FAST_LITELLM_SANITIZE") else []

sources = sorted(glob.glob("csrc/core/*.c")) + sorted(glob.glob("csrc/ext/*.c"))

setup(
    ext_modules=[
        Extension(
            "fast_litellm._native",
            sources=sources,
            include_dirs=["csrc/core", "csrc/ext"],
            depends=sorted(glob.glob("csrc/core/*.h")) + sorted(glob.glob("csrc/ext/*.h")),
            extra_compile_args=CFLAGS,
            extra_link_args=LDFLAGS,
        )
    ]
)
