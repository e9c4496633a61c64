"""Run by ``fast-litellm doctor`` in a fresh interpreter: import an app module the way
gunicorn does and report, as one JSON line on stdout, the import order of ``litellm`` and
``fast_litellm``, who imported litellm, and fast_litellm's status.

Not imported by the package itself: it must observe a clean process.
"""

import importlib
import json
import os
import sys
import traceback

events = []


class _Watcher:
    def find_spec(self, name, path, target=None):
        if name in ("litellm", "fast_litellm") and not any(e["module"] == name for e in events):
            where = None
            frame = sys._getframe(1)
            while frame is not None:
                fn = frame.f_code.co_filename
                if ("importlib" not in fn and not fn.startswith("<frozen") and fn != __file__
                        and frame.f_code.co_name != "find_spec"):
                    where = {"file": fn, "line": frame.f_lineno,
                             "module": frame.f_globals.get("__name__")}
                    break
                frame = frame.f_back
            events.append({"module": name, "by": where})
        return None


def main():
    target = sys.argv[1]
    modname, _, attr = target.partition(":")
    if sys.path[0] not in ("", os.getcwd()):
        sys.path.insert(0, os.getcwd())  # as gunicorn does
    sys.meta_path.insert(0, _Watcher())
    report = {"target": target, "events": events}
    try:
        mod = importlib.import_module(modname)
        if attr and not hasattr(mod, attr):
            report["error"] = f"module {modname!r} has no attribute {attr!r}"
    except BaseException as exc:  # noqa: BLE001
        report["error"] = f"{type(exc).__name__}: {exc}"
        report["traceback"] = traceback.format_exc()
    fl = sys.modules.get("fast_litellm")
    if fl is not None and hasattr(fl, "status"):
        report["status"] = fl.status()
        report["active"] = fl.active_components()
        report["imported_first_warning"] = fl.litellm_imported_first
        report["importer_guess"] = fl.litellm_importer
    report["litellm_loaded"] = "litellm" in sys.modules
    sys.stdout.write("\nFAST_LITELLM_DOCTOR " + json.dumps(report) + "\n")
    sys.stdout.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
