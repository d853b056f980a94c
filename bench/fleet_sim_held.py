#!/usr/bin/env python3
"""Holds N concurrent delayed status requests against a running fleet-sim and reports how
many the simulator held at once, and how a fast request to another workspace fared meanwhile.

Used by bench/fleet_sim_bench.sh; prints one JSON object on stdout. Python's asyncio opens the
connections (one process, no thread per connection on this side either); fleet-sim's own
count of held requests (GET /admin/state) is the figure, not the client's view.

    fleet_sim_held.py --url http://127.0.0.1:8090 --slow W I --fast W2 I2 --count 10000 \
        --latency-ms 5000 [--admin-token T]
"""

import argparse
import asyncio
import json
import resource
import statistics
import time
import urllib.request


def admin(url, method, path, body=None, token=None):
    request = urllib.request.Request(url + "/admin" + path, method=method,
                                     data=None if body is None else json.dumps(body).encode())
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response)


async def status_request(host, port, path, reader_limit=65536):
    """Sends one GET on its own connection and returns (status line, seconds taken)."""
    started = time.monotonic()
    reader, writer = await asyncio.open_connection(host, port, limit=reader_limit)
    writer.write(f"GET {path} HTTP/1.1\r\nHost: sim\r\nConnection: close\r\n\r\n".encode())
    await writer.drain()
    data = await reader.read()
    writer.close()
    return data.split(b"\r\n", 1)[0].decode(errors="replace"), time.monotonic() - started


async def run(arguments):
    base = arguments.url.rstrip("/")
    host, port = base.split("//", 1)[1].split(":")
    port = int(port)
    slow_path = f"/cp/workspaces/{arguments.slow[0]}/status?instance_id={arguments.slow[1]}"
    fast_path = f"/cp/workspaces/{arguments.fast[0]}/status?instance_id={arguments.fast[1]}"
    rule = admin(base, "POST", "/faults", {"mode": "latency", "fixed_ms": arguments.latency_ms,
                                           "target": {"workspace_id": arguments.slow[0]}},
                 arguments.admin_token)["fault"]["id"]
    try:
        started = time.monotonic()
        slow = [asyncio.create_task(status_request(host, port, slow_path)) for _ in range(arguments.count)]
        peak = 0
        all_held_after = None
        fast_latencies = []
        # Watch the simulator's own count while the slow requests are pending, and time fast
        # requests to another workspace meanwhile.
        while not all(task.done() for task in slow):
            state = await asyncio.to_thread(admin, base, "GET", "/state", None, arguments.admin_token)
            peak = max(peak, state["held_requests"])
            if all_held_after is None and state["held_requests"] >= arguments.count:
                all_held_after = time.monotonic() - started
                for _ in range(20):
                    line, seconds = await status_request(host, port, fast_path)
                    assert line.startswith("HTTP/1.1 200"), line
                    fast_latencies.append(seconds)
            await asyncio.sleep(0.2)
        results = [task.result() for task in slow]
    finally:
        admin(base, "DELETE", f"/faults/{rule}", None, arguments.admin_token)
    answered = sum(1 for line, _ in results if line.startswith("HTTP/1.1 200"))
    return {
        "requested": arguments.count,
        "latency_ms": arguments.latency_ms,
        "peak_held": peak,
        "answered_200": answered,
        "seconds_until_all_held": None if all_held_after is None else round(all_held_after, 2),
        "slow_request_seconds_median": round(statistics.median(s for _, s in results), 3),
        "fast_requests_while_held": len(fast_latencies),
        "fast_request_ms_median": round(statistics.median(fast_latencies) * 1000, 2) if fast_latencies else None,
        "fast_request_ms_max": round(max(fast_latencies) * 1000, 2) if fast_latencies else None,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", required=True)
    parser.add_argument("--slow", nargs=2, required=True, metavar=("WORKSPACE", "INSTANCE"))
    parser.add_argument("--fast", nargs=2, required=True, metavar=("WORKSPACE", "INSTANCE"))
    parser.add_argument("--count", type=int, default=10000)
    parser.add_argument("--latency-ms", type=int, default=5000)
    parser.add_argument("--admin-token")
    arguments = parser.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = arguments.count + 256
    if soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(wanted, hard), hard))
    print(json.dumps(asyncio.run(run(arguments))))


if __name__ == "__main__":
    main()
