"""Talking to the servers on 127.0.0.1: one request at a time (`fetch`, `wire_size`), and load
from wrk (Debian's `wrk`) with `wrk.lua`, whose "WRKJSON {...}" line is all that is read of
wrk's report. `check_load` refuses a run with any response other than 200 or a socket error."""

import http.client
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

from . import BenchError

LUA_SCRIPT = Path(__file__).with_name("wrk.lua")
WRK_THREADS = 2


def fetch(port: int, path: str, *, method="GET", headers=None, body=None, timeout=30) -> tuple:
    """(status, headers lower-cased with repeated ones joined by ", ", body) of one request on
    a new connection."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        content, found = response.read(), {}
        for name, value in response.getheaders():
            name = name.lower()
            found[name] = f"{found[name]}, {value}" if name in found else value
        return response.status, found, content
    finally:
        connection.close()


def wire_size(port: int, path: str) -> int:
    """The bytes of one response as wrk reads them: status line, headers, blank line, body."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        head = len(f"HTTP/1.1 {response.status} {response.reason}\r\n") + 2
        head += sum(len(f"{name}: {value}\r\n") for name, value in response.getheaders())
        return head + len(response.read())
    finally:
        connection.close()


def wrk_version() -> str:
    """wrk's version, or BenchError when it is missing: the web benchmarks' load generator."""
    if shutil.which("wrk") is None:
        raise BenchError("wrk is not installed: the web benchmarks need it (apt-get install wrk)")
    done = subprocess.run(["wrk", "--version"], capture_output=True, text=True, check=False)
    return (done.stdout + done.stderr).split("\n")[0].split(" Copyright")[0].strip()


def wrk(port: int, paths, *, seconds: int, connections: int, scratch: Path, bust=None) -> dict:
    """Load `paths` for `seconds`: one path is one fixed request with no Lua work per request;
    several are requested in turn. `bust` appends a query parameter no request had before."""
    env = {k: v for k, v in os.environ.items() if k not in {"WRK_PATHS", "WRK_BUST"}}
    env["WRK_THREADS"] = str(WRK_THREADS)
    if len(paths) > 1 or bust:
        (scratch / "paths.txt").write_text("\n".join(paths) + "\n")
        env.update(WRK_PATHS=str(scratch / "paths.txt"), WRK_BUST=bust or "")
    command = [
        "wrk", f"-t{WRK_THREADS}", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s",
        "--latency", "-s", str(LUA_SCRIPT), f"http://127.0.0.1:{port}{paths[0]}",
    ]  # fmt: skip
    done = subprocess.run(
        command, env=env, capture_output=True, text=True, check=False, timeout=seconds + 60
    )
    found = re.search(r"^WRKJSON (.*)$", done.stdout, re.MULTILINE)
    if done.returncode or not found:
        raise BenchError(f"wrk failed ({done.returncode}):\n{done.stdout}{done.stderr}")
    return json.loads(found.group(1))


def check_load(label: str, result: dict, log: str = "") -> None:
    """Refuse a wrk run in which nothing finished, a response had an error status (wrk's count;
    the Lua script counts those that are not 200 when it rotates paths) or a socket failed."""
    errors = result["errors"]
    if not result["requests"]:
        raise BenchError(f"{label}: no request finished (wrk: {result})")
    if errors["status"] or result.get("non200"):
        bad = errors["status"] or result["non200"]
        raise BenchError(f"{label}: {bad} responses were not 200 (wrk: {result})\n{log}")
    if sum(errors[k] for k in ("connect", "read", "write", "timeout")):
        raise BenchError(f"{label}: socket errors {errors}\n{log}")
