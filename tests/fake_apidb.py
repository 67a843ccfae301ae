"""A fake api-db speaking upstream's endpoints (login, GET customers/workshops, PUT): stdlib
only, so the same code runs in-process for unit tests and on a throwaway backend's loopback.

    python3 fake_apidb.py PORT CALLS_FILE [CLEANED_ANSWERS]   # e.g. 18021 /tmp/calls.jsonl false,true

Every call is recorded as (method, path, body, token); `cleaned` answers are given in turn (the
last one repeats); the workshop list holds WKSHP-Reset101 as id 9.
"""

from __future__ import annotations

import http.server
import json
import sys
import threading

WORKSHOPS = [{"id": 7, "notebook": "WKSHP-Other101"}, {"id": 9, "notebook": "WKSHP-Reset101"}]


class FakeApiDb:
    def __init__(self, port: int = 0, cleaned=(True,), record=None, host: str = "127.0.0.1"):
        self.calls, self.tokens, self.cleaned = [], 0, list(cleaned)
        self.record = record or (lambda call: None)
        api = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                api.tokens += 1
                self._call(self._body())
                self._reply({"accessToken": f"token-{api.tokens}"})

            def do_PUT(self):
                self._call(self._body())
                self._reply({})

            def do_GET(self):
                self._call(None)
                if self.path.startswith("/api/customers/"):
                    answer = api.cleaned.pop(0) if len(api.cleaned) > 1 else api.cleaned[0]
                    self._reply({"id": int(self.path.rsplit("/", 1)[1]), "cleaned": answer})
                else:
                    self._reply(WORKSHOPS)

            def _body(self):
                return json.loads(self.rfile.read(int(self.headers["Content-Length"])))

            def _call(self, body):
                call = (self.command, self.path, body, self.headers.get("x-access-token"))
                api.calls.append(call)
                api.record(call)

            def _reply(self, data):
                payload = json.dumps(data).encode()
                self.send_response(200)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args):
                pass

        self.server = http.server.HTTPServer((host, port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.port = self.server.server_address[1]
        self.url = f"http://{host}:{self.port}/api"

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


if __name__ == "__main__":
    port, calls_file = int(sys.argv[1]), sys.argv[2]
    answers = [a == "true" for a in (sys.argv[3] if len(sys.argv) > 3 else "true").split(",")]

    def append(call):
        with open(calls_file, "a") as f:
            f.write(json.dumps(call) + "\n")

    FakeApiDb(port, answers, append)
    threading.Event().wait()
