#!/usr/bin/env python3
"""A cheap stand-in for many Go services, for pprofd's load tests.

    loadserver.py READY_FILE DATA_DIR PORTS [BIG_TRACE_GZ]

Serves net/http/pprof-like endpoints on PORTS free ports of 127.0.0.1
(written to READY_FILE, one "127.0.0.1:PORT" a line, once serving), under
any path prefix, so that one process looks like many Go services (pprofd
runs one CPU profile and one trace at a time per address). Bodies are real
captures from tests/data, kept in memory:

  .../debug/pprof/profile?seconds=S  waits S seconds, then a CPU profile
  .../debug/pprof/trace?seconds=S    waits S seconds, then an execution trace
                                     (the big one when the prefix starts
                                     with /big and BIG_TRACE_GZ is given)
  .../debug/pprof/<anything else>    a heap profile

Every response is a Content-Length body. A thread per connection; the
waits are sleeps, so hundreds of requests in flight cost little CPU."""
import gzip
import http.server
import os
import socketserver
import sys
import threading
import time
import urllib.parse


def load(path):
    with open(path, "rb") as f:
        data = f.read()
    return gzip.decompress(data) if path.endswith(".gz") else data


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    request_queue_size = 512


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def do_GET(self):
        u = urllib.parse.urlsplit(self.path)
        q = urllib.parse.parse_qs(u.query)
        name = u.path.rsplit("/", 1)[-1]
        try:
            seconds = float(q.get("seconds", ["0"])[0])
        except ValueError:
            seconds = 0
        if "/debug/pprof/" not in u.path:
            body, ctype, code = b"404 page not found\n", "text/plain", 404
        elif name == "trace":
            big = u.path.startswith("/big") and BODIES.get("big")
            body, ctype, code = BODIES["big" if big else "trace"], "application/octet-stream", 200
        elif name == "profile":
            body, ctype, code = BODIES["cpu"], "application/octet-stream", 200
        else:
            body, ctype, code = BODIES["heap"], "application/octet-stream", 200
        if seconds > 0:
            time.sleep(min(seconds, 30))
        try:
            self.send_response(code)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass


def main():
    global BODIES
    if len(sys.argv) not in (4, 5):
        sys.exit("usage: loadserver.py READY_FILE DATA_DIR PORTS [BIG_TRACE_GZ]")
    ready, data, ports = sys.argv[1], sys.argv[2], int(sys.argv[3])
    BODIES = {
        "heap": load(os.path.join(data, "workload-heap.pprof")),
        "cpu": load(os.path.join(data, "workload-cpu-5s.pprof")),
        "trace": load(os.path.join(data, "gotrace", "tracegen-tiny.trace")),
    }
    if len(sys.argv) == 5:
        BODIES["big"] = load(sys.argv[4])
    servers = [Server(("127.0.0.1", 0), Handler) for _ in range(ports)]
    for srv in servers[1:]:
        threading.Thread(target=srv.serve_forever, daemon=True).start()
    tmp = ready + ".tmp"
    with open(tmp, "w") as f:
        for srv in servers:
            f.write("127.0.0.1:%d\n" % srv.server_address[1])
    os.rename(tmp, ready)
    servers[0].serve_forever()


BODIES = {}
if __name__ == "__main__":
    main()
