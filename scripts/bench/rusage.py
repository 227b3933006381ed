#!/usr/bin/env python3
"""Runs a command and writes its CPU and peak RSS to a file, for bench-measure.mjs.

    python3 rusage.py OUT_FILE COMMAND [ARG...]

OUT_FILE gets one line, `USER_S SYS_S MAX_RSS_KB WALL_S START_MS MINFLT NVCSW NIVCSW`: the
command's user and system CPU (all its threads, and the children it waited for) in seconds with
microseconds and the peak RSS of its largest process, all from wait4(2); its wall time from just before the fork to the
end of wait4, and that start as milliseconds since the epoch. Python's own start-up (~25 ms) is
in none of them: the caller times the command from START_MS, not from spawning this wrapper.
GNU time prints the same CPU truncated to 10 ms (`%U`, `%S`): on a 0.2 s run that alone moved a
ratio by up to ±10 %. The command's exit status (or the signal that ended it) is this wrapper's
own; its stdin, stdout and stderr are the wrapper's. MINFLT, NVCSW and NIVCSW (wait4's minor page
faults, voluntary and involuntary context switches) say where system CPU goes: the first two
are nearly the same from run to run whatever the load, unlike the CPU times.
"""
import os
import signal
import sys
import time

out = sys.argv[1]
start_ms = time.time() * 1000
started = time.monotonic()
pid = os.fork()
if pid == 0:
    try:
        os.execvp(sys.argv[2], sys.argv[2:])
    except OSError as error:
        sys.stderr.write(f"rusage.py: cannot run {sys.argv[2]}: {error}\n")
        os._exit(127)
while True:
    try:
        _, status, usage = os.wait4(pid, 0)
        break
    except InterruptedError:
        continue
wall = time.monotonic() - started
with open(out, "w") as f:
    f.write(
        f"{usage.ru_utime:.6f} {usage.ru_stime:.6f} {usage.ru_maxrss} {wall:.6f} {start_ms:.3f}"
        f" {usage.ru_minflt} {usage.ru_nvcsw} {usage.ru_nivcsw}\n"
    )
if os.WIFSIGNALED(status):
    signal.signal(os.WTERMSIG(status), signal.SIG_DFL)
    os.kill(os.getpid(), os.WTERMSIG(status))
sys.exit(os.WEXITSTATUS(status))
