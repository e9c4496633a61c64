"""Stand-in targets of every shape the patch framework handles (sync, async, methods,
static and class methods). The framework tests patch these; the probe plugin proves the
same on a real LiteLLM function."""


def add(a, b):
    if not isinstance(a, int):
        raise ValueError("a must be an int")
    return a + b


async def aadd(a, b):
    if not isinstance(a, int):
        raise ValueError("a must be an int")
    return a + b


class Calc:
    def mul(self, a, b):
        return a * b

    async def amul(self, a, b):
        return a * b

    @staticmethod
    def neg(a):
        return -a

    @classmethod
    def name(cls):
        return cls.__name__
