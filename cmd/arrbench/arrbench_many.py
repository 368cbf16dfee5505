"""Python peers of arrbench's many-process scenarios (cmd/arrbench).

The Go benchmark runs this program once per scenario, transport, size and
number of workers with an interpreter that imports NumPy. It reads one JSON
request line on stdin (for fanout followed by the array's raw elements),
starts its K worker processes before it holds any data (so that forked
workers share no page of it), makes the warm-up and measured runs and
writes one JSON line: {"runs": [...]} or {"error": "..."}.

  fanout  py-pickle  the array pickled once and sent through K Pipes
          py-shm     copied once into a SharedMemory segment, name to K
          py-npy     np.save once, K np.load(mmap_mode="r")
          py-npy-inplace  open_memmap(w+) filled in place (fill, off the
                     clock), K np.load(mmap_mode="r")
          Each consumer sums every element (as the Go side: float64 as the
          wrapping sum of the uint64 bit patterns, int32 as an int64 sum)
          and keeps the array until the next run, while the producer
          samples its PSS (/proc/PID/smaps_rollup).
  gather  py-pool         multiprocessing.Pool.map returns pickled parts,
                          the parent copies them into its result
          py-shm          workers write their rows into a SharedMemory
          py-npy-inplace  the parent creates open_memmap(w+), workers
                          np.load(mmap_mode="r+") and write their rows
          Element i of the result is i * 1.5 + 1.
  update  py-shm-lock     K workers add 1 to U random int64 counters of a
                          SharedMemory, each under one multiprocessing.Lock
"""

import gc
import json
import multiprocessing as mp
import os
import sys
import threading
import time
import traceback

import numpy as np
from multiprocessing import resource_tracker, shared_memory
from multiprocessing.reduction import ForkingPickler

MASK = (1 << 64) - 1
ns = time.perf_counter_ns


def checksum(a):
    if a.dtype.kind == "f":
        return int(np.add.reduce(a.view(np.uint64), dtype=np.uint64))
    return int(a.sum(dtype=np.int64)) & MASK


def pss(pid):
    """PSS of process pid in bytes (smaps_rollup), 0 if unknown."""
    try:
        with open("/proc/%d/smaps_rollup" % pid) as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def mem_available():
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def open_shm(name):
    try:
        return shared_memory.SharedMemory(name=name, track=False)  # Python >= 3.13
    except TypeError:
        return shared_memory.SharedMemory(name=name)


def ctx():
    return mp.get_context("fork" if "fork" in mp.get_all_start_methods() else "spawn")


def fault(transport):
    """ARRBENCH_WORKER_FAULT=TRANSPORT:exit makes a worker die (tests)."""
    if os.environ.get("ARRBENCH_WORKER_FAULT", "") == transport + ":exit":
        sys.stderr.write("arrbench_many.py worker: exiting on purpose\n")
        sys.stderr.flush()
        os._exit(3)


# ---- fanout


def fan_consumer(conn):
    keep = []
    while True:
        try:
            msg = conn.recv()
        except EOFError:
            return
        if msg["op"] == "exit":
            return
        if msg["op"] == "reset":
            segs = [x for x in keep if isinstance(x, shared_memory.SharedMemory)]
            keep.clear()
            gc.collect()
            for s in segs:
                s.close()
            conn.send({})
            continue
        t = msg["transport"]
        fault(t)
        try:
            if t == "py-pickle":
                buf = conn.recv_bytes()
                t0 = ns()
                a = ForkingPickler.loads(buf)
                del buf
            elif t == "py-shm":
                t0 = ns()
                shm = open_shm(msg["name"])
                keep.append(shm)
                a = np.ndarray((msg["n"],), dtype=np.dtype(msg["dtype"]), buffer=shm.buf)
            else:
                t0 = ns()
                a = np.load(msg["path"], mmap_mode="r")
            t1 = ns()
            s = checksum(a)
            t2 = ns()
            keep.append(a)
            conn.send({"checksum": s, "open_ns": t1 - t0, "read_ns": t2 - t1})
        except Exception as e:
            conn.send({"error": "%s: %s" % (type(e).__name__, e)})


def read_data(req):
    n = req["data_n"]
    data = np.empty(n, dtype=np.dtype(req["dtype"]))
    view = memoryview(data).cast("B")
    got = 0
    stdin = sys.stdin.buffer
    while got < len(view):
        k = stdin.readinto(view[got:])
        if not k:
            raise EOFError("data ends after %d of %d bytes" % (got, len(view)))
        got += k
    return data


def ask_all(conns, msgs, payload, timeout, procs):
    """Send msgs[i] (and payload) to every consumer at once, wait for all."""
    out = [None] * len(conns)
    errs = []

    def one(i):
        try:
            conns[i].send(msgs[i])
            if payload is not None:
                conns[i].send_bytes(payload)
            if not conns[i].poll(timeout):
                raise RuntimeError("consumer %d did not answer within %gs" % (i, timeout))
            out[i] = conns[i].recv()
        except (EOFError, OSError):
            procs[i].join(5)
            errs.append("consumer %d of %d died (exit code %s)" % (i + 1, len(conns), procs[i].exitcode))
        except Exception as e:
            errs.append(str(e))

    ths = [threading.Thread(target=one, args=(i,)) for i in range(len(conns))]
    for th in ths:
        th.start()
    for th in ths:
        th.join()
    if errs:
        raise RuntimeError("; ".join(errs))
    for r in out:
        if "error" in r:
            raise RuntimeError(r["error"])
    return out


def fanout(req):
    k, t, timeout = req["workers"], req["transport"], req["timeout"]
    c = ctx()
    conns, procs = [], []
    for _ in range(k):
        a, b = c.Pipe()
        p = c.Process(target=fan_consumer, args=(b,), daemon=True)
        p.start()
        b.close()
        conns.append(a)
        procs.append(p)
    data = read_data(req)  # after the fork: the consumers share none of it
    runs = []
    try:
        for r in range(req["warmup"] + req["repeats"]):
            n = req["n"] if r >= req["warmup"] else min(req["n"], req["warmup_n"])
            a = data[:n]
            ask_all(conns, [{"op": "reset"}] * k, None, timeout, procs)
            gc.collect()
            avail0 = mem_available()
            msg = {"op": "run", "transport": t, "n": n, "dtype": a.dtype.str}
            cleanup = None
            payload = None
            fill = 0
            t0 = ns()
            if t == "py-pickle":
                payload = ForkingPickler.dumps(a)
                stored = len(payload)
            elif t == "py-shm":
                name = "%s%d" % (req["name"], r)
                shm = shared_memory.SharedMemory(name=name, create=True, size=max(a.nbytes, 1))
                dst = np.ndarray(a.shape, dtype=a.dtype, buffer=shm.buf)
                dst[:] = a
                del dst
                msg["name"] = name
                stored = a.nbytes

                def cleanup(shm=shm):
                    shm.close()
                    shm.unlink()
            else:
                path = os.path.join(req["dir"], "fan%d.npy" % r)
                if t == "py-npy-inplace":
                    mm = np.lib.format.open_memmap(path, mode="w+", dtype=a.dtype, shape=a.shape)
                    mm[:] = a  # stands for computing the array in place
                    fill = ns() - t0
                    mm.flush()
                    del mm
                else:
                    np.save(path, a)
                msg["path"] = path
                stored = os.path.getsize(path)

                def cleanup(path=path):
                    os.remove(path)
            t1 = ns()
            try:
                reps = ask_all(conns, [msg] * k, payload, timeout, procs)
                t2 = ns()
                payload = None
                p = sum(pss(pr.pid) for pr in procs)
                drop = avail0 - mem_available()
            finally:
                if cleanup:
                    cleanup()
            runs.append({
                "warmup": r < req["warmup"], "n": n,
                "producer_ns": t1 - t0 - fill, "total_ns": t2 - t0 - fill, "fill_ns": fill,
                "open_ns": max(x["open_ns"] for x in reps), "read_ns": max(x["read_ns"] for x in reps),
                "checksums": [x["checksum"] for x in reps], "stored_bytes": stored,
                "consumers_pss_bytes": p, "mem_available_drop_bytes": drop,
            })
    finally:
        for cn in conns:
            try:
                cn.send({"op": "exit"})
            except Exception:
                pass
        for p in procs:
            p.join(5)
            if p.is_alive():
                p.kill()
    return {"runs": runs}


# ---- gather


def part(lo, hi):
    return np.arange(lo, hi, dtype=np.float64) * 1.5 + 1


def g_pool(args):
    fault("py-pool")
    return part(*args)


def g_shm(args):
    fault("py-shm")
    name, n, lo, hi = args
    shm = open_shm(name)
    v = np.ndarray((n,), dtype=np.float64, buffer=shm.buf)
    v[lo:hi] = part(lo, hi)
    del v
    shm.close()
    return True


def g_npy(args):
    fault("py-npy-inplace")
    path, lo, hi = args
    m = np.load(path, mmap_mode="r+")
    m[lo:hi] = part(lo, hi)
    m.flush()
    del m
    return True


def noop(x):
    return x


def gather(req):
    k, t, n, ranges = req["workers"], req["transport"], req["n"], req["ranges"]
    runs = []
    with ctx().Pool(k) as pool:
        pool.map(noop, range(k))  # the workers run before the clock starts
        for r in range(req["warmup"] + req["repeats"]):
            m = n
            rs = ranges
            if r < req["warmup"]:
                m = min(n, req["warmup_n"])
                rs = [[0, m]]
            gc.collect()
            cleanup = None
            t0 = ns()
            if t == "py-pool":
                parts = pool.map(g_pool, rs)
                res = np.empty(m, dtype=np.float64)
                for (lo, hi), p in zip(rs, parts):
                    res[lo:hi] = p
                del parts
            elif t == "py-shm":
                name = "%s%d" % (req["name"], r)
                shm = shared_memory.SharedMemory(name=name, create=True, size=m * 8)
                pool.map(g_shm, [(name, m, lo, hi) for lo, hi in rs])
                res = np.ndarray((m,), dtype=np.float64, buffer=shm.buf)

                def cleanup(shm=shm):
                    shm.close()
                    shm.unlink()
            else:
                path = os.path.join(req["dir"], "gather%d.npy" % r)
                mm = np.lib.format.open_memmap(path, mode="w+", dtype=np.float64, shape=(m,))
                pool.map(g_npy, [(path, lo, hi) for lo, hi in rs])
                res = mm

                def cleanup(path=path):
                    os.remove(path)
            t1 = ns()
            try:
                ok = bool(np.array_equal(res, part(0, m)))
                cs = checksum(res)
            finally:
                del res
                if t != "py-pool":
                    mm = None
                    gc.collect()
                if cleanup:
                    cleanup()
            runs.append({"warmup": r < req["warmup"], "n": m, "total_ns": t1 - t0, "verified": ok, "checksum": cs})
    return {"runs": runs}


# ---- update

_lock = None


def u_init(lock):
    global _lock
    _lock = lock


def u_worker(args):
    fault("py-shm-lock")
    name, counters, seed, updates = args
    shm = open_shm(name)
    v = np.ndarray((counters,), dtype=np.int64, buffer=shm.buf)
    idx = np.random.default_rng(seed).integers(0, counters, updates).tolist()
    lock = _lock
    for i in idx:
        with lock:
            v[i] += 1
    del v
    shm.close()
    return True


def update(req):
    k, c, u = req["workers"], req["counters"], req["updates"]
    runs = []
    lock = ctx().Lock()
    with ctx().Pool(k, initializer=u_init, initargs=(lock,)) as pool:
        pool.map(noop, range(k))
        for r in range(req["warmup"] + req["repeats"]):
            uu = u if r >= req["warmup"] else min(u, 1000)
            name = "%s%d" % (req["name"], r)
            shm = shared_memory.SharedMemory(name=name, create=True, size=c * 8)
            try:
                v = np.ndarray((c,), dtype=np.int64, buffer=shm.buf)
                v[:] = 0
                t0 = ns()
                pool.map(u_worker, [(name, c, 1000 * r + i, uu) for i in range(k)])
                t1 = ns()
                total = int(v.sum())
                del v
            finally:
                shm.close()
                shm.unlink()
            runs.append({"warmup": r < req["warmup"], "total_ns": t1 - t0, "updates": k * uu, "observed": total})
    return {"runs": runs}


def main():
    resource_tracker.ensure_running()
    req = json.loads(sys.stdin.buffer.readline())
    try:
        out = {"fanout": fanout, "gather": gather, "update": update}[req["scenario"]](req)
    except Exception as e:
        traceback.print_exc(file=sys.stderr)
        out = {"error": "%s: %s" % (type(e).__name__, e)}
    sys.stdout.write(json.dumps(out) + "\n")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
