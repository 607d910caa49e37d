#!/usr/bin/env python3
"""The merchant-score service of the fraud-detection example: the outside service the
fraud/merchant function calls. Python 3 standard library only.

  GET  /score/<merchant>  200 {"merchant": "<merchant>", "score": 0..100}
  POST /control           change how it behaves (JSON, every field optional), answers the settings:
                            "delay_ms": 800      score answers wait this long...
                            "slow_next": 2       ...only the next 2 of them (without it: all)
                            "fail_next": 3       the next 3 score requests fail...
                            "status": 503        ...with this status (default 503)
                            "scores": {"night-casino": 95}   pin merchants' scores
                            "reset": true        first, back to the command line's settings,
                                                 and the request count to 0
  GET  /stats             200 {"score_requests": n}
  GET  /healthz           200 ok

A merchant's score is pinned with "scores", or else computed from its name (the sum of
(position + 1) * byte of its UTF-8 bytes, modulo 101), so every run gives the same answers.
Once it accepts connections it prints "merchant-score service listening on port N" on stdout.

  merchant_score_service.py [--host 0.0.0.0] [--port 8080] [--delay-ms 0] [--scores '{"m": 10}']
  (--port 0: any free port)
"""

import argparse
import json
import signal
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote


def score_from_name(merchant):
    return sum((i + 1) * byte for i, byte in enumerate(merchant.encode())) % 101


def validate(settings):
    if not isinstance(settings, dict):
        raise ValueError("the settings must be a JSON object")
    unknown = set(settings) - {"delay_ms", "slow_next", "fail_next", "status", "scores", "reset"}
    if unknown:
        raise ValueError(f"unknown settings: {', '.join(sorted(unknown))}")
    for name in ("delay_ms", "slow_next", "fail_next", "status"):
        value = settings.get(name, 0)
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise ValueError(f'"{name}" must be a whole number >= 0')
    if not 400 <= settings.get("status", 503) <= 599:
        raise ValueError('"status" must be an error status, 400 to 599')
    scores = settings.get("scores", {})
    if not isinstance(scores, dict) or not all(
            isinstance(s, int) and not isinstance(s, bool) and 0 <= s <= 100 for s in scores.values()):
        raise ValueError('"scores" must map merchants to whole numbers 0 to 100')
    if not isinstance(settings.get("reset", False), bool):
        raise ValueError('"reset" must be true or false')


class Behaviour:
    """What the service is told to do; shared by the request threads."""

    def __init__(self):
        self.lock = threading.Lock()
        self.started_with = {}
        self.reset()

    def reset(self):
        """Back to how it started (the command line's settings), with no requests counted."""
        self.delay_ms = 0
        self.slow_next = None  # None: every score answer waits delay_ms
        self.fail_next = 0
        self.status = 503
        self.scores = {}
        self.score_requests = 0
        self.apply(self.started_with)

    def start_with(self, settings):
        validate(settings)
        self.started_with = settings
        self.reset()

    def update(self, settings):
        """Applies `settings` (all of them, or none when one is invalid) and returns the result."""
        validate(settings)
        with self.lock:
            if settings.get("reset"):
                self.reset()
            self.apply(settings)
            return self.settings()

    def apply(self, settings):
        if "delay_ms" in settings:
            self.delay_ms = settings["delay_ms"]
            self.slow_next = settings.get("slow_next")  # without it: every answer is slow
        elif "slow_next" in settings:
            self.slow_next = settings["slow_next"]
        self.fail_next = settings.get("fail_next", self.fail_next)
        self.status = settings.get("status", self.status)
        self.scores.update(settings.get("scores", {}))

    def settings(self):
        return {"delay_ms": self.delay_ms, "slow_next": self.slow_next, "fail_next": self.fail_next,
                "status": self.status, "scores": self.scores}

    def take_score_request(self, merchant):
        """How to answer this score request: (seconds to wait, failure status or None, score)."""
        with self.lock:
            self.score_requests += 1
            delay = 0.0
            if self.delay_ms > 0 and self.slow_next != 0:
                delay = self.delay_ms / 1000
                if self.slow_next is not None:
                    self.slow_next -= 1
            failure = None
            if self.fail_next > 0:
                self.fail_next -= 1
                failure = self.status
            return delay, failure, self.scores.get(merchant, score_from_name(merchant))


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the function's HTTP client prefers
    server_version = "merchant-score/1"
    disable_nagle_algorithm = True  # the head and the body go out as two writes: do not hold the body back

    def do_GET(self):
        behaviour = self.server.behaviour
        if self.path.startswith("/score/") and len(self.path) > len("/score/"):
            merchant = unquote(self.path[len("/score/"):])
            delay, failure, score = behaviour.take_score_request(merchant)
            time.sleep(delay)
            if failure is not None:
                self.answer(failure, {"error": "told to fail"})
            else:
                self.answer(200, {"merchant": merchant, "score": score})
        elif self.path == "/stats":
            with behaviour.lock:
                self.answer(200, {"score_requests": behaviour.score_requests})
        elif self.path == "/healthz":
            self.answer(200, "ok")
        else:
            self.answer(404, {"error": f"no such path: {self.path}"})

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.path != "/control":
            self.answer(404, {"error": f"no such path: {self.path}"})
            return
        try:
            self.answer(200, self.server.behaviour.update(json.loads(body or b"{}")))
        except ValueError as e:  # json.JSONDecodeError is one too
            self.answer(400, {"error": str(e)})

    def answer(self, status, content):
        body = (content if isinstance(content, str) else json.dumps(content)).encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain" if isinstance(content, str) else "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format, *args):
        pass  # quiet: one line per request would drown the simulator's output


class Server(ThreadingHTTPServer):
    daemon_threads = True  # slow answers still sleeping do not hold up the exit

    def handle_error(self, request, client_address):
        # A client that gave up on a slow answer has closed its connection: not an error here.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="0.0.0.0")
    parser.add_argument("--port", type=int, default=8080, help="0: any free port")
    parser.add_argument("--delay-ms", type=int, default=0, help="every score answer waits this long")
    parser.add_argument("--scores", default="{}", help='pinned scores, as JSON: {"night-casino": 95}')
    args = parser.parse_args()

    behaviour = Behaviour()
    try:
        behaviour.start_with({"delay_ms": args.delay_ms, "scores": json.loads(args.scores)})
    except ValueError as e:
        parser.error(str(e))
    server = Server((args.host, args.port), Handler)
    server.behaviour = behaviour
    # As PID 1 in a container SIGTERM would be ignored: exit on it.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print(f"merchant-score service listening on port {server.server_address[1]}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
