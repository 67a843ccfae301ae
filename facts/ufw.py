"""The ufw firewall."""

from __future__ import annotations

from pyinfra.api import FactBase

from wod_deploy.shell import sh

# ufw's own record of each added rule is a line `### tuple ### ACTION PROTO DPORT DST SPORT SRC
# DIRECTION` in user.rules (user6.rules for IPv6). This prints the simple ones (no app, interface,
# comment, logging or route) as `ufw show added` does (ufw/parser.py, get_command): the short form
# `ufw allow 22/tcp` when only a port is given, else `ufw allow from SRC to any port P proto tcp`,
# each once. Any other tuple: exit 1, print nothing, and let ufw say it.
# Unlike `ufw show added`, a rule for any address must be in each family's file that is read: ufw
# writes it to both, and one left in a single file (two ufw runs at once lose one write) prints
# `P v6 RULE`, the family it is in, so that the missing half is drift, not hidden by the other.
# It first reads /etc/default/ufw: the incoming policy (`D DROP`), and whether IPv6 is on (else
# user6.rules is not ufw's and is skipped).
SHOW_ADDED = r"""
FILENAME ~ /default\/ufw$/ {
    if ($0 ~ /^DEFAULT_INPUT_POLICY="*[A-Z]*"*$/) { gsub(/^DEFAULT_INPUT_POLICY=|"/, ""); print "D " $0 }
    if ($0 ~ /^IPV6="?yes"?$/) v6 = 1
    next
}
FILENAME ~ /6\.rules$/ { if (!v6) next; six = 1 }
/^### tuple ### / {
    n = split(substr($0, 15), f, " ")
    if (n != 7 || f[1] !~ /^(allow|deny|reject|limit)$/ || f[7] != "in") { other = 1; next }
    proto = f[2]; dport = f[3]; dst = f[4]; sport = f[5]; src = f[6]
    anydst = dst == "0.0.0.0/0" || dst == "::/0"; anysrc = src == "0.0.0.0/0" || src == "::/0"
    if (anydst && anysrc && sport == "any" && dport != "any") {
        rule = "ufw " f[1] " " dport (proto != "any" ? "/" proto : "")
    } else {
        rule = "ufw " f[1]
        from = anysrc ? "any" : src; to = anydst ? "any" : dst
        if (!anysrc || sport != "any") rule = rule " from " from (sport != "any" ? " port " sport : "")
        if (!anydst || dport != "any") rule = rule " to " to (dport != "any" ? " port " dport : "")
        if (rule !~ / (to|from) /) rule = rule " to any"
        if (proto != "any") rule = rule " proto " proto
    }
    if (!(rule in seen)) { rules[++count] = rule; everywhere[rule] = anydst && anysrc }
    family = FILENAME ~ /6\.rules$/ ? "v6" : "v4"
    if (!index(seen[rule], family)) seen[rule] = seen[rule] (seen[rule] ? " " : "") family
}
END {
    if (other) exit 1
    for (i = 1; i <= count; i++) {
        rule = rules[i]
        if (everywhere[rule] && six && seen[rule] !~ / /) print "P " seen[rule] " " rule
        else print "R " rule
    }
}
"""


class Ufw(FactBase):
    """``{"active": bool, "incoming": "deny", "rules": ["ufw allow 22/tcp", ...], "only_in": {}}``,
    None without ufw. ``only_in`` maps a rule for any address that one family's file lacks to the
    family it is in (``{"ufw allow 22/tcp": "v6"}``): it is not in ``rules``.

    Read where ufw itself keeps them, without starting ufw (a Python start, 50 ms of the host's
    CPU, most of a no-change converge's reads): active is ENABLED=yes in ufw.conf with ufw's
    chain loaded in the running kernel; the incoming policy is DEFAULT_INPUT_POLICY (DROP is
    ufw's "deny"); the rules are ufw's tuples (SHOW_ADDED), or `ufw show added` when one of them
    is of a form SHOW_ADDED leaves to ufw.
    """

    POLICIES = {"DROP": "deny", "ACCEPT": "allow", "REJECT": "reject"}

    def command(self) -> str:
        return ("command -v ufw >/dev/null || exit 0; "
                "if grep -qx ENABLED=yes /etc/ufw/ufw.conf && iptables -w -S ufw-user-input >/dev/null 2>&1; "
                "then echo 'S active'; else echo 'S inactive'; fi; "
                "set -- /etc/default/ufw /etc/ufw/user.rules; "
                "[ -f /etc/ufw/user6.rules ] && set -- \"$@\" /etc/ufw/user6.rules; "
                + sh("awk %s \"$@\"", SHOW_ADDED) + " || ufw show added | sed -n 's/^ufw /R ufw /p'")

    def process(self, output: list[str]) -> dict:
        state = {"active": False, "incoming": "", "rules": [], "only_in": {}}
        for line in output:
            kind, _, rest = line.partition(" ")
            if kind == "S":
                state["active"] = rest.strip() == "active"
            elif kind == "D":
                state["incoming"] = self.POLICIES.get(rest.strip(), rest.strip().lower())
            elif kind == "R":
                state["rules"].append(rest.strip())
            elif kind == "P":
                family, _, rule = rest.strip().partition(" ")
                state["only_in"][rule] = family
        return state
