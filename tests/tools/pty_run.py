#!/usr/bin/env python3
"""Run a command on a pseudo-terminal and print everything it wrote there
(stdout and stderr share the terminal), then exit with its exit code.

    pty_run.py COLUMNS COMMAND [ARG...]

With PTY_ANSWER=TEXT in the environment, TEXT and a line feed are typed
once the command has written "Passphrase" (a prompt for an encrypted key)
and turned the terminal's echo off, as a person types after the prompt:
typed earlier, the terminal itself would echo it.

Used by tests/progress.rs to see lbom's progress bars as a person at a
terminal sees them (a bar is drawn only when stderr is a terminal), and by
hand to capture a long run for a report.
"""

import fcntl
import os
import pty
import struct
import sys
import termios
import time


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    columns = int(sys.argv[1])
    pid, fd = pty.fork()
    if pid == 0:
        os.execvp(sys.argv[2], sys.argv[2:])
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 40, columns, 0, 0))
    answer = os.environ.get("PTY_ANSWER")
    out = bytearray()
    while True:
        try:
            chunk = os.read(fd, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        out.extend(chunk)
        if answer is not None and b"Passphrase" in out:
            deadline = time.monotonic() + 10
            while termios.tcgetattr(fd)[3] & termios.ECHO and time.monotonic() < deadline:
                time.sleep(0.01)
            os.write(fd, answer.encode() + b"\n")
            answer = None
    _, status = os.waitpid(pid, 0)
    sys.stdout.buffer.write(bytes(out))
    sys.stdout.flush()
    sys.exit(os.waitstatus_to_exitcode(status))


if __name__ == "__main__":
    main()
