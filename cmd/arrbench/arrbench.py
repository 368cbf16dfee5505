"""Python transports of arrbench (cmd/arrbench).

The Go benchmark starts this program once per run with an interpreter that
imports NumPy and drives it with JSON lines on stdin; every request gets
one JSON line on stdout. This process is the producer; it starts one
consumer process (multiprocessing, kept alive over a Pipe) and measures,
for each transport, the same phases as the Go transports:

  py-pickle       multiprocessing pickling: the array pickled, sent as bytes
                  through the Pipe, unpickled into a new array
  py-shm          multiprocessing.shared_memory.SharedMemory: the producer
                  copies the array into a new segment and sends its name
  py-npy          np.save to the shared folder, the consumer
                  np.load(path, mmap_mode="r")
  py-npy-inplace  the producer creates np.lib.format.open_memmap(mode="w+")
                  and fills it (both reported as fill, not transport),
                  flushes and sends the name; the consumer
                  np.load(mmap_mode="r")

The consumer sums every element (float64 as the wrapping sum of their
uint64 bit patterns, int32 as an int64 sum, exactly as the Go side) and the
Go side checks the sum against its own.

Requests: {"op": "load", "dtype", "n"} followed on stdin by the array's n
raw elements, {"op": "reset"}, {"op": "run", "transport", "n", "dir",
"name", "timeout"}, {"op": "exit"}.
"""

import gc
import json
import multiprocessing as mp
import os
import pickle
import sys
import time
import traceback

import numpy as np
from multiprocessing import resource_tracker, shared_memory
from multiprocessing.reduction import ForkingPickler

MASK = (1 << 64) - 1
TRANSPORTS = ("py-pickle", "py-shm", "py-npy", "py-npy-inplace")


def checksum(a):
    """Sum of every element, as the Go side computes it."""
    if a.dtype.kind == "f":
        return int(np.add.reduce(a.view(np.uint64), dtype=np.uint64))
    return int(a.sum(dtype=np.int64)) & MASK


def peak_rss():
    """Peak resident set in bytes since start or the last reset, 0 if unknown."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def reset_peak():
    """Reset VmHWM to the current RSS (Linux); report whether it worked."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def open_shm(name):
    """Attach to a SharedMemory segment without taking ownership of it."""
    try:
        return shared_memory.SharedMemory(name=name, track=False)  # Python >= 3.13
    except TypeError:
        # Older Pythons register the segment with the resource tracker,
        # which the producer started before forking us and so shares: the
        # producer's unlink unregisters it once for both.
        return shared_memory.SharedMemory(name=name)


def consume(conn, msg, keep):
    """Receive one array as msg describes, open it and sum it. What must
    stay alive until the next reset goes to keep; everything else dies
    with this call."""
    t = msg["transport"]
    if t == "py-pickle":
        if hasattr(conn, "_recv_bytes"):
            buf = conn._recv_bytes()  # what Connection.recv does
            t0 = time.perf_counter_ns()
            a = ForkingPickler.loads(buf.getbuffer())
        else:
            buf = conn.recv_bytes()
            t0 = time.perf_counter_ns()
            a = ForkingPickler.loads(buf)
        del buf
    elif t == "py-shm":
        t0 = time.perf_counter_ns()
        shm = open_shm(msg["name"])
        keep.append(shm)
        a = np.ndarray((msg["n"],), dtype=np.dtype(msg["dtype"]), buffer=shm.buf)
    elif t in ("py-npy", "py-npy-inplace"):
        t0 = time.perf_counter_ns()
        a = np.load(msg["path"], mmap_mode="r")
    else:
        raise ValueError("unknown transport %r" % t)
    t1 = time.perf_counter_ns()
    if a.shape != (msg["n"],):
        raise ValueError("received shape %s, want (%d,)" % (a.shape, msg["n"]))
    s = checksum(a)
    t2 = time.perf_counter_ns()
    keep.append(a)
    return {"checksum": s, "open_ns": t1 - t0, "read_ns": t2 - t1, "rss_peak": peak_rss()}


def consumer(conn):
    keep = []  # what the last run opened, released at the next reset
    while True:
        try:
            msg = conn.recv()
        except EOFError:
            return
        op = msg["op"]
        if op == "exit":
            return
        if op == "reset":
            # Arrays first, then the SharedMemory segments they point into.
            segments = [x for x in keep if isinstance(x, shared_memory.SharedMemory)]
            keep.clear()
            gc.collect()
            for x in segments:
                x.close()
            del segments
            conn.send({"rss_reset": reset_peak()})
            continue
        fault = os.environ.get("ARRBENCH_WORKER_FAULT", "")  # tests of the Go side
        if fault == msg["transport"] + ":exit":
            sys.stderr.write("arrbench.py consumer: exiting on purpose (%s)\n" % fault)
            sys.stderr.flush()
            os._exit(3)
        if fault == msg["transport"] + ":hang":
            time.sleep(1e9)
        try:
            rep = consume(conn, msg, keep)
        except Exception as e:  # reported to the Go side as an error row
            rep = {"error": "%s: %s" % (type(e).__name__, e)}
        conn.send(rep)


class Producer:
    def __init__(self):
        self.data = None
        self.ctx = mp.get_context("fork" if "fork" in mp.get_all_start_methods() else "spawn")
        resource_tracker.ensure_running()  # shared with the consumer (see open_shm)
        self.start_consumer()

    def start_consumer(self):
        self.conn, child = self.ctx.Pipe()
        self.proc = self.ctx.Process(target=consumer, args=(child,), daemon=True)
        self.proc.start()
        child.close()

    def restart_consumer(self):
        try:
            self.proc.kill()
            self.proc.join(5)
        except Exception:
            pass
        self.conn.close()
        self.start_consumer()

    def ask(self, msg, timeout, payload=None):
        """Send msg (and payload bytes) to the consumer, wait for its answer."""
        try:
            self.conn.send(msg)
            if payload is not None:
                self.conn.send_bytes(payload)
            if not self.conn.poll(timeout):
                self.restart_consumer()
                raise RuntimeError("consumer did not answer within %gs; killed" % timeout)
            return self.conn.recv()
        except (EOFError, OSError) as e:
            self.proc.join(5)
            code = self.proc.exitcode
            self.restart_consumer()
            detail = ": %s" % e if str(e) else ""
            raise RuntimeError("consumer died (exit code %s)%s" % (code, detail))

    def load(self, req, stdin):
        """Read the data set's raw elements from stdin, after the request."""
        self.data = None
        gc.collect()
        data = np.empty(req["n"], dtype=np.dtype(req["dtype"]))
        view = memoryview(data).cast("B")
        got = 0
        while got < len(view):
            n = stdin.readinto(view[got:])
            if not n:
                raise EOFError("data set ends after %d of %d bytes" % (got, len(view)))
            got += n
        self.data = data
        return {"ok": True}

    def reset(self, req):
        gc.collect()
        rep = self.ask({"op": "reset"}, req.get("timeout", 60))
        if not rep.get("rss_reset"):
            # The peak RSS counter cannot be reset here: a fresh consumer
            # process starts from a fresh peak.
            self.restart_consumer()
        return rep

    def run(self, req):
        t = req["transport"]
        n = req["n"]
        timeout = req.get("timeout", 600)
        a = self.data[:n]
        msg = {"op": "run", "transport": t, "n": n, "dtype": a.dtype.str}
        out = {"fill_ns": 0, "stored_bytes": a.nbytes}
        cleanup = None
        if t == "py-pickle":
            t0 = time.perf_counter_ns()
            buf = ForkingPickler.dumps(a)
            t1 = time.perf_counter_ns()
            rep = self.ask(msg, timeout, payload=buf)
            t2 = time.perf_counter_ns()
            out["stored_bytes"] = len(buf)
            del buf
        elif t == "py-shm":
            name = req["name"]
            t0 = time.perf_counter_ns()
            shm = shared_memory.SharedMemory(name=name, create=True, size=a.nbytes)
            dst = np.ndarray(a.shape, dtype=a.dtype, buffer=shm.buf)
            dst[:] = a
            t1 = time.perf_counter_ns()
            msg["name"] = name
            try:
                rep = self.ask(msg, timeout)
                t2 = time.perf_counter_ns()
            finally:
                del dst
                shm.close()
                shm.unlink()
        elif t == "py-npy":
            path = os.path.join(req["dir"], req["name"] + ".npy")
            t0 = time.perf_counter_ns()
            np.save(path, a)
            t1 = time.perf_counter_ns()
            msg["path"] = path
            try:
                rep = self.ask(msg, timeout)
                t2 = time.perf_counter_ns()
            finally:
                os.remove(path)
        elif t == "py-npy-inplace":
            path = os.path.join(req["dir"], req["name"] + ".npy")
            try:
                # Creating and filling the array are production (reported as
                # fill, off the clock), as for Go's npy-tmpfs-inplace.
                t0 = time.perf_counter_ns()
                m = np.lib.format.open_memmap(path, mode="w+", dtype=a.dtype, shape=a.shape)
                m[:] = a  # stands for computing the array in place
                tf1 = time.perf_counter_ns()
                m.flush()
                t1 = time.perf_counter_ns()
                msg["path"] = path
                rep = self.ask(msg, timeout)
                t2 = time.perf_counter_ns()
                del m
            finally:
                if os.path.exists(path):
                    os.remove(path)
            out["fill_ns"] = tf1 - t0
        else:
            raise ValueError("unknown transport %r" % t)
        if "error" in rep:
            return rep
        fill = out["fill_ns"]
        out.update(rep)
        out["producer_ns"] = t1 - t0 - fill
        out["total_ns"] = t2 - t0 - fill
        return out


def main():
    out = sys.stdout
    p = Producer()
    hello = {
        "python": sys.version.split()[0],
        "numpy": np.__version__,
        "pid": os.getpid(),
        "consumer_pid": p.proc.pid,
        "transports": TRANSPORTS,
    }
    out.write(json.dumps(hello) + "\n")
    out.flush()
    stdin = sys.stdin.buffer  # binary: load requests are followed by raw bytes
    while True:
        line = stdin.readline()
        if not line:
            break
        req = json.loads(line)
        op = req.get("op")
        if op == "exit":
            break
        try:
            if op == "load":
                rep = p.load(req, stdin)
            elif op == "reset":
                rep = p.reset(req)
            elif op == "run":
                rep = p.run(req)
            else:
                rep = {"error": "unknown request %r" % op}
        except Exception as e:
            traceback.print_exc(file=sys.stderr)
            rep = {"error": "%s: %s" % (type(e).__name__, e)}
        gc.collect()
        out.write(json.dumps(rep) + "\n")
        out.flush()
    try:
        p.conn.send({"op": "exit"})
        p.proc.join(5)
    except Exception:
        pass


if __name__ == "__main__":
    main()
