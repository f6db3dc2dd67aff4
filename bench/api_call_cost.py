#!/usr/bin/env python3
"""CPU a PowerDNS secondary spends per API call of the kinds the secondary-syncer makes.

Starts a throwaway pdns_server (gsqlite3, stock settings but `secondary=yes` and the API) on
free loopback ports in a temporary directory, makes N calls of each kind on one keep-alive
connection (and a few on a new connection per call), prints PowerDNS's CPU time (utime + stime
from /proc/<pid>/stat) and the wall time per call, and stops it. Used for the per-call figures
in docs/benchmarks.md ("Bulk work") and docs/architecture.md ("Batch creation").

Usage: bench/api_call_cost.py [N]   (default 300; the zones' master is a closed port, so the
retrieves only queue a transfer that fails)
"""
import http.client
import json
import os
import socket
import subprocess
import sys
import tempfile
import time

SCHEMA = "/usr/share/pdns-backend-sqlite3/schema/schema.sqlite3.sql"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_seconds(pid):
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main():
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 300
    with tempfile.TemporaryDirectory(prefix="pdnsd-api-cost-") as directory:
        database = os.path.join(directory, "pdns.sqlite3")
        subprocess.run(["sqlite3", database], stdin=open(SCHEMA), check=True)
        api_port, dns_port = free_port(), free_port()
        with open(os.path.join(directory, "pdns.conf"), "w") as conf:
            conf.write(
                f"launch=gsqlite3\ngsqlite3-database={database}\nlocal-address=127.0.0.1\n"
                f"local-port={dns_port}\nsocket-dir={directory}\ndaemon=no\nguardian=no\n"
                "disable-syslog=yes\napi=yes\napi-key=k\nwebserver=yes\n"
                f"webserver-address=127.0.0.1\nwebserver-port={api_port}\n"
                "webserver-allow-from=127.0.0.0/8\nsecondary=yes\nsecurity-poll-suffix=\n"
                "loglevel=3\n")
        server = subprocess.Popen(["pdns_server", f"--config-dir={directory}"],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            run(server.pid, api_port, count)
        finally:
            server.terminate()
            server.wait(timeout=10)


def run(pid, port, count):
    headers = {"X-API-Key": "k", "Content-Type": "application/json"}
    for _ in range(100):
        try:
            http.client.HTTPConnection("127.0.0.1", port, timeout=1).request("GET", "/")
            break
        except OSError:
            time.sleep(0.05)
    kept = http.client.HTTPConnection("127.0.0.1", port)

    def call(method, path, body=None, connection=None):
        c = connection or http.client.HTTPConnection("127.0.0.1", port)
        c.request(method, path, body=json.dumps(body) if body is not None else None,
                  headers=headers)
        response = c.getresponse()
        response.read()
        if connection is None:
            c.close()
        return response.status

    base = "/api/v1/servers/localhost"
    calls = [
        ("create (POST, kind Slave)", lambda i: call(
            "POST", base + "/zones",
            {"name": f"z{i}.test.", "kind": "Slave", "masters": ["127.0.0.1:9"]}, kept)),
        ("get zone (rrsets=false)", lambda i: call("GET", base + f"/zones/z{i}.test.?rrsets=false",
                                                   connection=kept)),
        ("get zone, 404", lambda i: call("GET", base + f"/zones/n{i}.test.?rrsets=false",
                                         connection=kept)),
        ("axfr-retrieve", lambda i: call("PUT", base + f"/zones/z{i}.test./axfr-retrieve",
                                         connection=kept)),
        ("cache flush", lambda i: call("PUT", base + f"/cache/flush?domain=z{i}.test.",
                                       connection=kept)),
        ("metadata cache purge", lambda i: call(
            "DELETE", base + f"/zones/z{i}.test./metadata/X-PDNSD-CACHE-PURGE", connection=kept)),
        ("server (ping)", lambda i: call("GET", base, connection=kept)),
        ("server (ping), new connection", lambda i: call("GET", base)),
        ("delete zone", lambda i: call("DELETE", base + f"/zones/z{i}.test.", connection=kept)),
    ]
    print(f"PowerDNS {pid}: {count} calls of each kind, one after another")
    print(f"{'call':34s} {'CPU ms/call':>12s} {'wall ms/call':>13s}  statuses")
    for name, make in calls:
        start_wall, start_cpu = time.time(), cpu_seconds(pid)
        statuses = {}
        for i in range(count):
            status = make(i)
            statuses[status] = statuses.get(status, 0) + 1
        cpu = 1000 * (cpu_seconds(pid) - start_cpu) / count
        wall = 1000 * (time.time() - start_wall) / count
        print(f"{name:34s} {cpu:12.2f} {wall:13.2f}  {statuses}")


if __name__ == "__main__":
    main()
