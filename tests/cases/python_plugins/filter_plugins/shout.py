from __future__ import annotations


def shout(s):
    return s.upper() + '!'


class FilterModule:
    def filters(self):
        return {'shout': shout}
