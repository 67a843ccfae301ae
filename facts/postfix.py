"""Postfix main.cf parameters and master.cf services, as postconf reports them."""

from __future__ import annotations

from pyinfra.api import FactBase


class PostfixConfig(FactBase):
    """
    ``{"main": {param: value}, "master": {"service/type": "full master.cf line"}}``; empty when
    postfix is not installed.
    """

    default = dict

    def command(self) -> str:
        return ("command -v postconf >/dev/null || exit 0; "
                "postconf -n | sed 's/^/M /'; postconf -M | sed 's/^/S /'")

    def process(self, output: list[str]) -> dict:
        main, master = {}, {}
        for line in output:
            kind, _, rest = line.partition(" ")
            if kind == "M":
                key, _, value = rest.partition("=")
                main[key.strip()] = value.strip()
            elif kind == "S":
                fields = rest.split()
                if len(fields) >= 8:
                    master[f"{fields[0]}/{fields[1]}"] = " ".join(fields)
        return {"main": main, "master": master}
