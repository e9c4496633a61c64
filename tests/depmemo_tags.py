"""The routing checks' memo (csrc/ext/depmemo.c) on the running interpreter, without LiteLLM.

The memo keeps each deployment's verdicts while CPython's dict version tags of the
deployment, its litellm_params and its model_info are unchanged. This script changes
deployments in place in every way a dict can change and compares every native answer with
the answer for a deep copy (new dicts: nothing remembered). It is imported by
tests/test_depmemo.py (CPython 3.11, the suite's interpreter) and run by ``make
memo-versions`` on CPython 3.12 and 3.13 (a build of the extension for each), where the tag
is deprecated but kept; on 3.14 the memo is compiled out.

    python tests/depmemo_tags.py   # with fast_litellm._native importable
"""

from __future__ import annotations

import copy
import random
import sys

from fast_litellm import _native

PREFIX = "auto_router/"
EXTRAS = [(), ("team_id",), ("blocked",), ("enable_tag_filtering",)]
METRICS = ("weight", "rpm", "tpm")


def plain(i: int) -> dict:
    return {"model_name": "m", "litellm_params": {"model": f"openai/gpt-{i}", "api_key": "sk-x"},
            "model_info": {"id": f"id-{i}"}}


def answers(deps):
    """Every memoised native check on `deps`."""
    out = [_native.plain_deployments(deps, PREFIX), _native.plain_deployments(deps, None)]
    out += [_native.plain_deployments(deps, None, *e) for e in EXTRAS[1:]]
    out.append(_native.ids_present(deps))
    out += [_native.metric_weights(deps, m) for m in METRICS]
    return out


def named(deps, name="m"):
    got = _native.named_deployments(list(deps), list(range(len(deps))), name)
    return None if got is None else [deps.index(d) for d in got]


def fresh(deps):
    """The same checks on new dicts: computed, not remembered."""
    twin = copy.deepcopy(list(deps))
    return answers(twin), named(twin)


def mutate(rng: random.Random, deps: list) -> None:
    """One change, in place, to one deployment (or its slot in the list)."""
    k = rng.randrange(len(deps))
    d = deps[k]
    lp = d.get("litellm_params")
    mi = d.get("model_info")
    op = rng.randrange(26)
    if op == 0 and type(lp) is dict:
        lp["model"] = rng.choice(["auto_router/x", "openai/gpt-x", None, 3])
    elif op == 1 and type(lp) is dict:
        lp["model"] = lp.get("model")  # the same value again: still a change
    elif op == 2 and type(lp) is dict:
        lp["order"] = rng.choice([1, None, 0])
    elif op == 3 and type(lp) is dict:
        lp.pop("order", None)
    elif op == 4 and type(lp) is dict:
        lp[rng.choice(METRICS)] = rng.choice([None, 0, 1, 5, 2.5, True, "3", 10**400, -1])
    elif op == 5 and type(lp) is dict:
        lp.update(rpm=rng.choice([1, 9]), tpm=rng.choice([None, 100]))
    elif op == 6 and type(lp) is dict and lp:
        lp.popitem()
    elif op == 7 and type(mi) is dict:
        mi[rng.choice(["access_windows", "ptu_shares", "order", "team_id", "blocked",
                       "enable_tag_filtering"])] = rng.choice([None, 1, "t", True])
    elif op == 8 and type(mi) is dict:
        mi.pop(rng.choice(["access_windows", "order", "team_id", "blocked", "id"]), None)
    elif op == 9 and type(mi) is dict:
        mi["id"] = rng.choice(["id-x", 7, None, 1.5, ("t",)])
    elif op == 10 and type(mi) is dict:
        mi.clear()
    elif op == 11 and type(mi) is dict:
        mi |= {"team_id": rng.choice([None, "t"])}
    elif op == 12 and type(mi) is dict:
        mi.setdefault("order", 2)
    elif op == 13:
        d["model_info"] = rng.choice([None, {"id": "new"}, "x", {"id": "n", "blocked": True}])
    elif op == 14:
        d.pop("model_info", None)
    elif op == 15:
        d["litellm_params"] = rng.choice([None, {"model": "openai/y", "rpm": 3}, {"order": 1}, 5])
    elif op == 16:
        d["model_name"] = rng.choice(["m", "other", 7])
    elif op == 17:
        d.update(model_name="m")
    elif op == 18:
        d.clear()
        d.update(plain(rng.randrange(1000)))  # the same dict object, plain again, new children
    elif op == 19:
        deps[k] = plain(rng.randrange(1000))  # a new dict in the slot
    elif op == 20:
        deps[k] = deps[rng.randrange(len(deps))]  # the same dict twice
    elif op == 21 and type(lp) is dict:
        d["litellm_params"] = dict(lp)  # an equal, new child
    elif op == 22 and type(mi) is dict:
        d["model_info"] = dict(mi)
    elif op == 23 and type(lp) is dict:
        del d["litellm_params"]
    elif op == 24 and type(mi) is dict:
        mi["access_windows"] = None
    elif op == 25:
        d.setdefault("model_name", "m")


def check(seed: int, rounds: int = 400) -> int:
    """Changes and checks from one seed; the memo hits it took, per deployment and whole
    lists (0 where it is compiled out)."""
    rng = random.Random(seed)
    deps = [plain(i) for i in range(rng.choice([3, 20, 60]))]
    for d in deps:
        d["litellm_params"]["rpm"] = rng.choice([None, 1, 4, 2.5])
    stats = _native.memo_stats()
    hits = stats["hits"] + stats["list_hits"]
    for _ in range(rounds):
        for _ in range(rng.choice([0, 1, 1, 2, 5])):
            mutate(rng, deps)
        got = (answers(deps), named(deps))
        want = fresh(deps)
        assert got == want, (seed, deps, got, want)
    stats = _native.memo_stats()
    return stats["hits"] + stats["list_hits"] - hits


def check_lists(seed: int, rounds: int = 600) -> tuple[int, int]:
    """Whole-list answers: a fleet of 40-80 deployments kept mostly plain, changed in place
    one at a time (a change that makes it not plain, one that makes it plain again, an equal
    new child, a reordering), checked as new lists of the same dicts after each change and
    compared with fresh copies. (whole-list hits, answers that were False)."""
    rng = random.Random(seed)
    deps = [plain(i) for i in range(rng.randrange(40, 80))]
    stats = _native.memo_stats()["list_hits"]
    falses = 0
    broken = None  # at most one deployment not plain at a time
    for _ in range(rounds):
        d = rng.choice(deps)
        op = rng.randrange(10)
        if op <= 1 and broken is None:  # make one not plain
            broken = d
            kind = rng.randrange(3)
            if kind == 0:
                d["litellm_params"]["model"] = "auto_router/x"
            elif kind == 1:
                d["model_info"]["order"] = 2
            else:
                d["model_info"]["access_windows"] = ["mon"]
        elif op <= 3 and broken is not None:  # and plain again
            broken["litellm_params"]["model"] = "openai/gpt-y"
            broken["model_info"].pop("order", None)
            broken["model_info"]["access_windows"] = None
            broken = None
        elif op == 4:
            d["litellm_params"] = dict(d["litellm_params"])  # an equal new child
        elif op == 5:
            d["model_info"] = dict(d["model_info"])
        elif op == 6:
            i, j = rng.randrange(len(deps)), rng.randrange(len(deps))
            deps[i], deps[j] = deps[j], deps[i]
        elif op == 7:
            d["litellm_params"]["rpm"] = rng.choice([None, 3])  # plain either way
        elif op == 8:
            d["model_name"] = rng.choice(["m", "m", "other"])  # in or out of the name's list
        # op 9: nothing changes
        for _ in range(rng.randrange(1, 4)):
            seq = rng.choice([list(deps), tuple(deps), deps])
            twin = copy.deepcopy(list(deps))
            want = answers(twin)[:2] + [named(twin)]
            got = [_native.plain_deployments(seq, PREFIX), _native.plain_deployments(seq, None),
                   named(list(deps))]
            assert got == want, (seed, got, want)
            falses += not got[0]
    return _native.memo_stats()["list_hits"] - stats, falses


class _StrSub(str):
    pass


def check_dict_kinds() -> str | None:
    """dictkind.c on this interpreter: dict_str_keyed is True exactly when every key is an
    exact str, and on 3.11-3.13 it reads CPython's dict kind (dict_kind_fast). None when
    right, else what is wrong."""
    cases = [({}, True), ({"a": 1}, True), ({1: 1}, False), ({"a": 1, 2: 2}, False),
             ({_StrSub("a"): 1}, False), ({(): 1}, False), (dict.fromkeys(map(str, range(100))), True)]
    d = {"a": 1, 3: 3}
    del d[3]  # a GENERAL table with strs only: still str-keyed (checked key by key)
    cases.append((d, True))

    class O:
        pass

    o = O()
    o.x = 1  # a split table
    cases.append((o.__dict__, True))
    for value, want in cases:
        if _native.dict_str_keyed(value) is not want:
            return f"dict_str_keyed({value!r}) should be {want}"
    if ((3, 11) <= sys.version_info[:2] < (3, 14)) != _native.dict_kind_fast():
        return f"dict_kind_fast() is {_native.dict_kind_fast()} on {sys.version.split()[0]}"
    return None


def main() -> int:
    wrong = check_dict_kinds()
    if wrong:
        print(f"depmemo_tags: {wrong}")
        return 1
    lists = _native.memo_stats()["list_hits"]
    hits = sum(check(seed) for seed in range(12))
    lists = _native.memo_stats()["list_hits"] - lists
    for seed in range(6):
        whole, falses = check_lists(seed)
        if (3, 11) <= sys.version_info[:2] < (3, 14) and (whole < 100 or falses < 50):
            print(f"depmemo_tags: whole lists: {whole} hits, {falses} False answers (too few)")
            return 1
        lists += whole
    enabled = (3, 11) <= sys.version_info[:2] < (3, 14)
    print(f"depmemo_tags: Python {sys.version.split()[0]}: 12 seeds x 400 rounds identical, "
          f"{hits} memo hits ({lists} whole lists)")
    if enabled and (hits == 0 or lists == 0):
        print("depmemo_tags: the memo should be compiled in on this version and was never used")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
