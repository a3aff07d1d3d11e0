"""A local HTTP server on 127.0.0.1 that plays recorded real responses, with scripted failures."""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Seen:
    path: str
    at: float
    headers: dict[str, str]


class RecordedSite:
    """`routes[path]` is a list of replies served in order (the last one repeats); unknown paths 404."""

    def __init__(self) -> None:
        self.routes: dict[str, list[Reply]] = {}
        self.seen: list[Seen] = []
        self.robots = b"User-agent: *\nDisallow: /private/\n"
        self._served: dict[str, int] = defaultdict(int)
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (http.server's naming)
                site.seen.append(Seen(self.path, time.monotonic(), dict(self.headers)))
                if self.path == "/robots.txt":
                    reply = Reply(200, site.robots, {"Content-Type": "text/plain"})
                else:
                    replies = site.routes.get(self.path)
                    if not replies:
                        reply = Reply(404, b"<html><title>404 Not Found</title></html>", {"Content-Type": "text/html"})
                    else:
                        index = min(site._served[self.path], len(replies) - 1)
                        site._served[self.path] += 1
                        reply = replies[index]
                self.send_response(reply.status)
                for key, value in reply.headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(reply.body)))
                self.end_headers()
                self.wfile.write(reply.body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> RecordedSite:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()

    def route(self, path: str, *replies: Reply) -> None:
        self.routes[path] = list(replies)

    def hits(self, path: str) -> list[Seen]:
        return [s for s in self.seen if s.path == path]
