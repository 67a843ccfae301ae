"""The code wod-deploy runs on a backend, as root or as the account it names; shipped as one
package, wod_runtime, to /usr/local/lib/wod (components/system.py ships every module here).

The mail API: postfix hands a message for WODUSER to procmail, which hands it to the handler's
unix socket (cli.py); systemd runs the handler as root for each connection. message.py parses and
authenticates it, actions.py does CREATE, CLEANUP, RESET or PURGE with accounts.py, homes.py,
hooks.py, notebooks.py and variables.py, and calls the hub (hub.py) and the api-db (apidb.py).
The hub's helpers (hubdb.py, peers.py) and the watchdog (watchdog.py) live here too.

Standard library only (render.py: and the hub venv's Jinja2), no import from wod-deploy: every
module but the standalone scripts imports its siblings relatively. No value from a mail reaches a
shell: every command is an argv list.
"""
