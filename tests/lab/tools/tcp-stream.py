#!/usr/bin/python3
"""tcp-stream.py - one long TCP connection carrying a paced, verifiable byte
stream in BOTH directions at once, for tests where the path changes under a
live connection (Mobile IPv6 handovers: tests/scenarios/mip6-move.sh).

  serve   --bind ADDR --port P [common options]
      accepts exactly one connection on ADDR (the mobile node's home
      address), then streams like the client.
  connect --to ADDR --port P [--source ADDR] [common options]
      connects to ADDR.

Common options:
  --rate BYTES_PER_S   pacing of this side's sending (default 400000)
  --max-bytes N        stop sending after N bytes (default 64 MiB)
  --stop-file PATH     stop sending once PATH exists (checked every chunk),
                       so the test decides how long the connection lives
  --timeout SECS       give up when nothing at all can be sent or received
                       for SECS (default 30); the whole run is bounded by
                       --max-seconds (default 120)
  --ready-file PATH    (serve) created once listening

Each side sends a deterministic pseudo-random stream (SHA-256 in counter
mode, seeded by the direction), then shuts its sending half down; the
other side regenerates the same stream and compares every byte it reads.
At the end each side prints one JSON line:

  {"role": ..., "sent": N, "received": N, "intact": true|false,
   "first_mismatch": offset|null, "eof": true|false,
   "sha256_sent": ..., "sha256_received": ..., "error": null|"reset"|...,
   "seconds": ..., "longest_stall_s": ...}

and exits 0 only when the connection ended cleanly (EOF after the peer's
whole stream, no reset, no error) and everything received was intact. The
test compares one side's "sent" with the other side's "received".
Standard library only; talks only to the address it is given.
"""
import argparse
import hashlib
import json
import os
import socket
import sys
import threading
import time

CHUNK = 16384


class Stream:
    """The deterministic byte stream of one direction."""

    def __init__(self, label):
        self.seed = hashlib.sha256(label.encode()).digest()
        self.block = 0
        self.pending = b""

    def take(self, n):
        while len(self.pending) < n:
            out = bytearray()
            for _ in range(64):
                out += hashlib.sha256(self.seed + self.block.to_bytes(8, "big")).digest()
                self.block += 1
            self.pending += bytes(out)
        data, self.pending = self.pending[:n], self.pending[n:]
        return data


def classify(exc):
    if isinstance(exc, ConnectionResetError):
        return "reset"
    if isinstance(exc, BrokenPipeError):
        return "broken-pipe"
    if isinstance(exc, socket.timeout):
        return "timeout"
    return "%s: %s" % (type(exc).__name__, exc)


def run(sock, role, args, t0):
    send_label, recv_label = ("cn->mn", "mn->cn") if role == "connect" else ("mn->cn", "cn->mn")
    result = {
        "role": role, "sent": 0, "received": 0, "intact": True, "first_mismatch": None,
        "eof": False, "sha256_sent": None, "sha256_received": None, "error": None,
        "seconds": None, "longest_stall_s": 0.0,
    }
    errors = []
    deadline = t0 + args.max_seconds
    sock.settimeout(args.timeout)

    def sender():
        stream, digest = Stream(send_label), hashlib.sha256()
        start = time.monotonic()
        try:
            while result["sent"] < args.max_bytes and time.monotonic() < deadline:
                if args.stop_file and os.path.exists(args.stop_file):
                    break
                # Pacing: never ahead of rate * elapsed; when a handover
                # stalled the connection, TCP catches up by itself.
                ahead = result["sent"] / args.rate - (time.monotonic() - start)
                if ahead > 0:
                    time.sleep(min(ahead, 0.05))
                    continue
                data = stream.take(min(CHUNK, args.max_bytes - result["sent"]))
                sock.sendall(data)
                digest.update(data)
                result["sent"] += len(data)
            sock.shutdown(socket.SHUT_WR)
        except OSError as exc:
            errors.append("send: " + classify(exc))
        result["sha256_sent"] = digest.hexdigest()

    thread = threading.Thread(target=sender, daemon=True)
    thread.start()
    expected, digest = Stream(recv_label), hashlib.sha256()
    last = time.monotonic()
    try:
        while time.monotonic() < deadline:
            data = sock.recv(65536)
            now = time.monotonic()
            result["longest_stall_s"] = max(result["longest_stall_s"], round(now - last, 3))
            last = now
            if not data:
                result["eof"] = True
                break
            want = expected.take(len(data))
            if result["intact"] and data != want:
                result["intact"] = False
                result["first_mismatch"] = result["received"] + next(
                    i for i in range(len(data)) if data[i] != want[i])
            digest.update(data)
            result["received"] += len(data)
    except OSError as exc:
        errors.append("recv: " + classify(exc))
    thread.join(max(0.0, deadline - time.monotonic()) + 1)
    if thread.is_alive():
        errors.append("send: still blocked at the deadline")
    if not result["eof"] and not errors:
        errors.append("no EOF before --max-seconds")
    result["sha256_received"] = digest.hexdigest()
    result["error"] = "; ".join(errors) or None
    result["seconds"] = round(time.monotonic() - t0, 3)
    return result


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    for name in ("serve", "connect"):
        p = sub.add_parser(name)
        p.add_argument("--port", type=int, required=True)
        p.add_argument("--rate", type=float, default=400000)
        p.add_argument("--max-bytes", type=int, default=64 << 20)
        p.add_argument("--stop-file")
        p.add_argument("--timeout", type=float, default=30)
        p.add_argument("--max-seconds", type=float, default=120)
        if name == "serve":
            p.add_argument("--bind", required=True)
            p.add_argument("--ready-file")
        else:
            p.add_argument("--to", required=True)
            p.add_argument("--source")
    args = ap.parse_args()

    t0 = time.monotonic()
    try:
        if args.cmd == "serve":
            listener = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            # The home address may sit on a device that is still being set
            # up (or be nodad): bind without requiring it to be usable yet.
            listener.setsockopt(socket.SOL_IP, 15, 1)  # IP_FREEBIND, also for IPv6
            listener.bind((args.bind, args.port))
            listener.listen(1)
            listener.settimeout(args.max_seconds)
            if args.ready_file:
                open(args.ready_file, "w").close()
            sock, _ = listener.accept()
            listener.close()
            t0 = time.monotonic()
        else:
            sock = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
            if args.source:
                sock.bind((args.source, 0))
            sock.settimeout(args.timeout)
            sock.connect((args.to, args.port))
            t0 = time.monotonic()
    except OSError as exc:
        print(json.dumps({"role": args.cmd, "error": "setup: " + classify(exc)}), flush=True)
        return 1
    result = run(sock, args.cmd, args, t0)
    sock.close()
    print(json.dumps(result), flush=True)
    ok = result["error"] is None and result["eof"] and result["intact"]
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
