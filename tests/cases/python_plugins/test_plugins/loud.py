from __future__ import annotations


def loud(s):
    return s.endswith('!') and s.upper() == s


class TestModule:
    def tests(self):
        return {'loud': loud}
