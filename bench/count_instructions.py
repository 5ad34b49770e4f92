#!/usr/bin/env python3
"""Instructions the daemon executes per request, outside OpenSSL's libcrypto, by phase.

    bench/count_instructions.py [--daemon build/release/daemon/instaccessd] [--requests 300]

Runs the daemon under valgrind's callgrind in a temporary directory, sends --requests issues,
then as many cold decrypts (each token once) and cached decrypts (one token again and again)
from one connection, and dumps the counts after each phase. Prints, per request, the
instructions in each part of the program (libcrypto, malloc, nlohmann, asio, the project's own
folders, ...).

Why: on a shared 2-core VM one round of bench/run_daemon_bench.sh moves by +-5 %, more than
most changes to the work around the RSA operations. Instruction counts do not move between runs
(a few per cent of the RSA work is 100k instructions; the same binary counts the same to a few
hundred), so a change to that work can be judged here and then confirmed by the bench. They do
not show system calls (count those with `perf stat -e 'syscalls:sys_enter_*'`), and valgrind
hides AVX-512, so libcrypto's own count is not what the CPU runs.
"""
import argparse
import collections
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time

CLAIMS = {"claims": {"sub": "bench-user", "acct": "bench-acct"}}


class Client:
    """HTTP/1.1 over the daemon's Unix socket, one request at a time on one connection."""

    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX)
        self.sock.connect(path)
        self.buf = b""

    def post(self, target, body):
        data = json.dumps(body, separators=(",", ":")).encode()
        self.sock.sendall(b"POST %s HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json"
                          b"\r\nContent-Length: %d\r\n\r\n%s" % (target.encode(), len(data), data))
        while b"\r\n\r\n" not in self.buf:
            self.recv()
        head, _, rest = self.buf.partition(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        length = int(re.search(rb"(?i)\r\ncontent-length: *(\d+)", head).group(1))
        while len(rest) < length:
            rest += self.recv_more()
        self.buf = rest[length:]
        if status >= 300:
            sys.exit(f"{target} answered {status}: {rest[:length].decode(errors='replace')}")
        return json.loads(rest[:length])

    def recv(self):
        self.buf += self.recv_more()

    def recv_more(self):
        chunk = self.sock.recv(65536)
        if not chunk:
            sys.exit("the daemon closed the connection")
        return chunk


def part_of(obj, source, function):
    """The part of the program an instruction belongs to, from its object and source file."""
    if "libcrypto" in obj:
        return "libcrypto"
    if re.search(r"malloc|arena\.c", source) or re.match(r"operator (new|delete)", function):
        return "malloc/free"
    for marker, name in (("boost/asio", "asio"), ("boost/beast", "beast"), ("nlohmann", "nlohmann")):
        if marker in source:
            return name
    here = re.search(r"/(common|jose|keystore|ipc|daemon)/[^/]+$", source)
    if here:
        return here.group(1) + "/"
    if "libc.so" in obj:
        return "libc (other)"
    if "c++/" in source or "libstdc++" in obj:
        return "libstdc++"
    return "other"


def self_cost_by_part(path):
    """Sums a callgrind dump's self cost (Ir) by part; call lines carry inclusive cost: skipped."""
    parts = collections.Counter()
    obj = source = inline = function = ""
    after_calls = False
    with open(path) as f:
        for line in f:
            key = line[:3]
            if key == "ob=":
                obj = line[3:].strip()
            elif key == "fl=":
                source, inline = line[3:].strip(), ""
            elif key in ("fi=", "fe="):
                inline = line[3:].strip()
            elif key == "fn=":
                function, inline = line[3:].strip(), ""
            elif line.startswith("calls="):
                after_calls = True
            elif line[:1].isdigit() or line[:1] in "+-*":
                if after_calls:
                    after_calls = False
                    continue
                fields = line.split()
                if len(fields) >= 2:
                    parts[part_of(obj, inline or source, function)] += int(fields[1])
    return parts


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--daemon", default="build/release/daemon/instaccessd")
    ap.add_argument("--requests", type=int, default=300)
    args = ap.parse_args()
    daemon = os.path.abspath(args.daemon)
    for tool in ("valgrind", "callgrind_control"):
        if shutil.which(tool) is None:
            sys.exit(f"{tool} not found: run scripts/bootstrap (it installs valgrind)")
    if not os.access(daemon, os.X_OK):
        sys.exit(f"{daemon}: no daemon binary (cmake --preset release && cmake --build --preset release)")

    work = tempfile.mkdtemp(prefix="instaccess-callgrind-")
    log = open(os.path.join(work, "daemon.log"), "w")
    proc = subprocess.Popen(
        ["valgrind", "--tool=callgrind", "--callgrind-out-file=" + os.path.join(work, "cg.out"),
         "--dump-instr=no", "--compress-strings=no", "--compress-pos=no", daemon],
        cwd=work, stdout=log, stderr=log)
    try:
        sock = os.path.join(work, "var", "instaccessd.sock")
        deadline = time.monotonic() + 120  # key generation under valgrind takes a while
        while not os.path.exists(sock):
            if proc.poll() is not None or time.monotonic() > deadline:
                sys.exit(f"the daemon did not start; see {work}/daemon.log")
            time.sleep(0.2)
        client = Client(sock)
        n = args.requests
        for _ in range(20):  # first-use work (contexts, pools) is not a request's cost
            client.post("/api/v1/inst_access_tokens", CLAIMS)

        def phase(name, send):
            subprocess.run(["callgrind_control", "--zero", str(proc.pid)], check=True,
                           capture_output=True)
            out = [send(i) for i in range(n)]
            subprocess.run(["callgrind_control", "--dump=" + name, str(proc.pid)], check=True,
                           capture_output=True)
            return out

        decrypt = "/api/v1/inst_access_tokens/decrypt"
        tokens = phase("issue", lambda i: client.post("/api/v1/inst_access_tokens", CLAIMS)["token"])
        phase("cold decrypt", lambda i: client.post(decrypt, {"token": tokens[i]}))
        phase("cached decrypt", lambda i: client.post(decrypt, {"token": tokens[0]}))
        time.sleep(1)  # callgrind writes the last dump after callgrind_control returns

        dumps = sorted((f for f in os.listdir(work) if re.fullmatch(r"cg\.out\.\d+", f)),
                       key=lambda f: int(f.rsplit(".", 1)[1]))
        if len(dumps) != 3:
            sys.exit(f"expected 3 dumps in {work}, found {dumps}")
        results = [self_cost_by_part(os.path.join(work, d)) for d in dumps]
        names = ["issue", "cold decrypt", "cached decrypt"]
        order = sorted({p for r in results for p in r}, key=lambda p: -results[0][p])
        print(f"instructions per request (callgrind, {n} requests per phase, one connection)")
        print(f"{'part':16}" + "".join(f"{name:>16}" for name in names))
        for p in order:
            print(f"{p:16}" + "".join(f"{r[p] / n:16,.0f}" for r in results))
        outside = [sum(v for k, v in r.items() if k != "libcrypto") / n for r in results]
        print(f"{'outside libcrypto':16}" + "".join(f"{v:16,.0f}" for v in outside))
    finally:
        proc.terminate()
        proc.wait()
        log.close()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
