"""Postfix main.cf parameters and master.cf services, as postconf reports them."""

from __future__ import annotations

import json

from pyinfra.api import FactBase

# main.cf and master.cf in one awk, as postfix reads them (postconf(5)): a line that starts with
# whitespace continues the logical line before it; blank lines and `#` lines are skipped, even
# inside one. A master.cf entry with a `{ ... }` option, which postconf -M rewrites, is left to it
# (a `{` that starts a word: Debian's own master.cf has `${recipient}`, a parameter, not an option).
LOGICAL_LINES = r"""
FNR == 1 { kind = FILENAME ~ /master\.cf$/ ? "S" : "M"; open = 0 }
/^[ \t]*(#|$)/ { next }
/^[ \t]/ && open { line[n] = line[n] " " $0; next }
{ n++; kinds[n] = kind; line[n] = $0; open = 1 }
END {
    for (i = 1; i <= n; i++) if (kinds[i] == "S" && line[i] ~ /(^|[ \t])[{]/) braces = 1
    for (i = 1; i <= n; i++) if (kinds[i] == "M" || !braces) print kinds[i], line[i]
    exit braces
}"""


class PostfixConfig(FactBase):
    """
    ``{"main": {param: value}, "master": {"service/type": "full master.cf line"}}``; empty when
    postfix is not installed. Values and entries are postconf's: whitespace runs are one space,
    the last of a parameter set twice wins.

    The files are read with one awk, not `postconf -n` and `postconf -M`: two postconf starts cost
    the host about 12 ms of CPU, an eighth of a no-change converge's read. postconf is still what
    reads a master.cf whose options use braces.
    """

    default = dict

    def command(self) -> str:
        return ("command -v postconf >/dev/null || exit 0; "
                f"awk '{LOGICAL_LINES}' /etc/postfix/main.cf /etc/postfix/master.cf || postconf -M | sed 's/^/S /'")

    def process(self, output: list[str]) -> dict:
        main, master = {}, {}
        for line in output:
            kind, _, rest = line.partition(" ")
            if kind == "M":
                key, _, value = rest.partition("=")
                main[key.strip()] = " ".join(value.split())
            elif kind == "S":
                fields = rest.split()
                if len(fields) >= 8:
                    master[f"{fields[0]}/{fields[1]}"] = " ".join(fields)
        return {"main": main, "master": master}


class MailQueue(FactBase):
    """The messages postfix holds, one per `postqueue -j` line: ``[{"queue": "deferred",
    "sender", "arrival": epoch seconds, "recipients": [[address, why it waits], ...]}]``; empty
    when the queue is empty or postfix absent. A participant whose login mail waits here never
    gets it: `check` shows each."""

    default = list

    def command(self) -> str:
        return "command -v postqueue >/dev/null || exit 0; postqueue -j 2>/dev/null; true"

    def process(self, output: list[str]) -> list[dict]:
        found = []
        for line in output:
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            found.append({"queue": entry.get("queue_name"), "sender": entry.get("sender"),
                          "arrival": entry.get("arrival_time"),
                          "recipients": [[r.get("address"), r.get("delay_reason", "")]
                                         for r in entry.get("recipients", [])]})
        return found
