#!/usr/bin/env python3
"""Measures the tracked-link HTTP endpoint of a real fieldwork-messaging against hostile clients.

Starts its own redis-server and fieldwork-messaging (--role=all, no auth, on free loopback
ports, state in a temporary directory), then from outside, over loopback:
  1. RSS of the process before and after a 500 MB POST attempt (Content-Length declared, the
     body streamed until the server answers or stops reading), and what the server answered;
  2. health-probe availability (GET /healthz every 100 ms, 2 s timeout) while 200 connections
     trickle their request headers one byte a second for 20 s (closed ones are reopened, as an
     attacker would).

Usage:
  bench/messaging/http_hardening.py [--bin build/debug/bin/fieldwork-messaging]
      [--trickle-connections 200] [--trickle-seconds 20] [--post-mb 500]
      [--attacker-address 127.0.0.2] [-- extra flags...]

Figures go to stdout; nothing here asserts (the integration test in
tests/integration/messaging/tracking_hardening_test.cc asserts the behaviour).
"""
import argparse
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_mb(pid):
    values = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, rest = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                values[key] = int(rest.split()[0]) / 1024.0
    return values


def wait_for_http(port, deadline):
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                s.sendall(b"GET /healthz HTTP/1.1\r\nHost: b\r\nConnection: close\r\n\r\n")
                if s.recv(64).startswith(b"HTTP/1.1 200"):
                    return True
        except OSError:
            pass
        time.sleep(0.1)
    return False


def probe(port, timeout=2.0):
    """Seconds a GET /healthz took, or None when it failed or timed out."""
    start = time.monotonic()
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
            s.settimeout(timeout - (time.monotonic() - start))
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: b\r\nConnection: close\r\n\r\n")
            if not s.recv(64).startswith(b"HTTP/1.1 200"):
                return None
    except OSError:
        return None
    return time.monotonic() - start


def big_post(port, megabytes):
    """Declares `megabytes` MB and streams zeros until the server answers or stops reading."""
    total = megabytes * 1024 * 1024
    chunk = b"\0" * 65536
    sent = 0
    status = "no answer"
    start = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
        s.sendall(b"POST /sms/inbound HTTP/1.1\r\nHost: b\r\n"
                  b"Content-Type: application/x-www-form-urlencoded\r\n"
                  + f"Content-Length: {total}\r\n\r\n".encode())
        s.setblocking(False)
        answer = b""
        while sent < total and time.monotonic() - start < 120:
            try:
                answer += s.recv(4096)
                if answer:
                    break
            except BlockingIOError:
                pass
            except OSError:
                break
            try:
                sent += s.send(chunk[: min(len(chunk), total - sent)])
            except BlockingIOError:
                time.sleep(0.001)
            except OSError:
                break
        s.setblocking(True)
        s.settimeout(10)
        try:
            while b"\r\n" not in answer:
                more = s.recv(4096)
                if not more:
                    break
                answer += more
        except OSError:
            pass
        if answer:
            status = answer.split(b"\r\n", 1)[0].decode(errors="replace")
    return status, sent, time.monotonic() - start


def trickle(port, connections, seconds, stop, source):
    request = b"GET /healthz HTTP/1.1\r\nHost: b\r\nX-Slow: " + b"a" * 4000 + b"\r\n\r\n"
    socks = [None] * connections
    position = [0] * connections
    opened = 0
    end = time.monotonic() + seconds
    while time.monotonic() < end and not stop.is_set():
        for i in range(connections):
            try:
                if socks[i] is None:
                    socks[i] = socket.create_connection(("127.0.0.1", port), timeout=1,
                                                        source_address=(source, 0))
                    position[i] = 0
                    opened += 1
                socks[i].send(request[position[i]: position[i] + 1])
                position[i] = (position[i] + 1) % len(request)
            except OSError:
                if socks[i] is not None:
                    socks[i].close()
                socks[i] = None
        time.sleep(1.0)
    for s in socks:
        if s is not None:
            s.close()
    return opened


def main():
    parser = argparse.ArgumentParser()
    repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    parser.add_argument("--bin", default=os.path.join(repo, "build/debug/bin/fieldwork-messaging"))
    parser.add_argument("--trickle-connections", type=int, default=200)
    parser.add_argument("--trickle-seconds", type=float, default=20)
    parser.add_argument("--post-mb", type=int, default=500)
    # The probes come from 127.0.0.1, as a kubelet probes from its node's address: the
    # attacker's connections come from another loopback address, so that the per-address cap
    # applies to them and not to the probes.
    parser.add_argument("--attacker-address", default="127.0.0.2")
    parser.add_argument("extra", nargs="*", help="extra flags for fieldwork-messaging")
    args = parser.parse_args()

    work = tempfile.mkdtemp(prefix="fw-http-bench-")
    procs = []
    try:
        redis_port, grpc_port, http_port, metrics_port = (free_port() for _ in range(4))
        procs.append(subprocess.Popen(
            ["redis-server", "--port", str(redis_port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", work],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        for name in ("contact.key", "link.key"):
            with open(os.path.join(work, name), "w") as f:
                f.write(secrets.token_hex(32))
        log = open(os.path.join(work, "messaging.log"), "w")
        command = [args.bin, "--insecure_no_auth", f"--redis_url=redis://127.0.0.1:{redis_port}",
                   f"--listen_address=127.0.0.1:{grpc_port}", f"--http_port={http_port}",
                   "--http_bind_address=127.0.0.1", f"--metrics_port={metrics_port}",
                   "--metrics_bind_address=127.0.0.1", "--randomisation_address=127.0.0.1:1",
                   f"--contact_key_file={work}/contact.key", f"--link_key_file={work}/link.key",
                   f"--file_channel_path={work}/messages.jsonl", "--worker_threads=1",
                   "--drain_delay=0s"] + args.extra
        messaging = subprocess.Popen(command, stdout=log, stderr=log)
        procs.append(messaging)
        if not wait_for_http(http_port, time.monotonic() + 30):
            sys.exit(f"fieldwork-messaging did not serve HTTP; see {work}/messaging.log")
        print(f"binary: {args.bin}")

        before = rss_mb(messaging.pid)
        status, sent, took = big_post(http_port, args.post_mb)
        time.sleep(0.5)
        after = rss_mb(messaging.pid)
        print(f"{args.post_mb} MB POST: answer '{status}' after {sent / 1048576:.1f} MB sent "
              f"({took:.1f} s); RSS {before['VmRSS']:.0f} MB before, {after['VmRSS']:.0f} MB "
              f"after, peak {after['VmHWM']:.0f} MB")

        stop = threading.Event()
        result = {}
        attacker = threading.Thread(target=lambda: result.update(opened=trickle(
            http_port, args.trickle_connections, args.trickle_seconds, stop,
            args.attacker_address)))
        attacker.start()
        time.sleep(1.0)  # let the connections open
        latencies, failures = [], 0
        end = time.monotonic() + args.trickle_seconds - 1.0
        while time.monotonic() < end:
            took = probe(http_port)
            if took is None:
                failures += 1
            else:
                latencies.append(took)
            time.sleep(0.1)
        stop.set()
        attacker.join()
        total = len(latencies) + failures
        latencies.sort()
        p = lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000
        print(f"{args.trickle_connections} trickling connections, {args.trickle_seconds:.0f} s "
              f"({result.get('opened', 0)} opened in all): {len(latencies)}/{total} probes "
              f"answered" + (f", p50 {p(0.5):.1f} ms, p99 {p(0.99):.1f} ms, max "
                             f"{latencies[-1] * 1000:.1f} ms" if latencies else ""))
        print(f"RSS at the end: {rss_mb(messaging.pid)['VmRSS']:.0f} MB")
    finally:
        for proc in reversed(procs):
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
