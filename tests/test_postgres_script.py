"""scripts/postgres.sh: the throwaway PostgreSQL server of the test command.

Each test runs the script for real: initdb into a temporary directory as a non-root user, a
server on a unix socket there, the command, then the server stopped and the directory gone.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.postgres

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "postgres.sh"
# Prints the server's socket directory, its data directory's owner, the server's pid and
# listen_addresses, then exits with the code it is given.
PROBE = """
import os, sys, psycopg
dsn = os.environ["OMI_TEST_POSTGRES_DSN"]
assert os.environ["OMI_POSTGRES_DSN"] == dsn
with psycopg.connect(dsn) as conn:
    data = conn.execute("SHOW data_directory").fetchone()[0]
    sockets = conn.execute("SHOW unix_socket_directories").fetchone()[0]
    listen = conn.execute("SHOW listen_addresses").fetchone()[0]
with open(os.path.join(data, "postmaster.pid")) as pid_file:
    pid = int(pid_file.readline())
print(sockets, os.stat(data).st_uid, pid, repr(listen))
sys.exit(int(sys.argv[1]))
"""


def running(pid: int, wait: float = 5.0) -> bool:
    """Whether process `pid` is still alive (not gone, not a zombie) after up to `wait` s."""
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except FileNotFoundError:
            return False
        if state == "Z":
            return False
        time.sleep(0.05)
    return True


def run_script(*command: str, env: dict | None = None) -> subprocess.CompletedProcess:
    environment = {
        key: value
        for key, value in os.environ.items()
        if key not in ("OMI_TEST_POSTGRES_DSN", "OMI_POSTGRES_DSN")
    }
    environment.update(env or {})
    return subprocess.run(
        ["bash", str(SCRIPT), *command],
        env=environment,
        text=True,
        capture_output=True,
        timeout=120,
    )


@pytest.mark.slow
@pytest.mark.parametrize("exit_code", [0, 3])
def test_a_throwaway_server_runs_the_command_and_is_removed_after(exit_code):
    result = run_script(sys.executable, "-c", PROBE, str(exit_code))
    assert result.returncode == exit_code, result.stderr
    sockets, owner, server_pid, listen = result.stdout.split()
    assert listen == "''", "the server must listen on its unix socket only"
    assert int(owner) != 0, "the server must not run as root"
    assert sockets.startswith("/tmp/omi-pg.")
    assert not Path(sockets).exists(), "the directory must be removed, even after a failure"
    assert not running(int(server_pid)), "the server must be stopped"


def test_a_dsn_given_by_the_caller_is_used_as_is():
    result = run_script(
        "bash",
        "-c",
        'echo "$OMI_TEST_POSTGRES_DSN|$OMI_POSTGRES_DSN"',
        env={"OMI_TEST_POSTGRES_DSN": "host=/nowhere dbname=mine"},
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "host=/nowhere dbname=mine|host=/nowhere dbname=mine"
    assert "using the PostgreSQL server in OMI_TEST_POSTGRES_DSN" in result.stderr


def test_without_postgresql_a_non_root_user_is_told_how_to_install_it(tmp_path):
    environment = {"PATH": "/usr/bin:/bin", "OMI_PG_LIBDIR": str(tmp_path), "HOME": "/tmp"}
    script = SCRIPT
    command = ["bash", str(script), "true"]
    if os.geteuid() == 0:
        runuser = shutil.which("runuser") or shutil.which("runuser", path="/usr/sbin:/sbin")
        if runuser is None:
            pytest.skip("running as root without runuser: cannot become a non-root user")
        # A copy nobody can read: the checkout may sit in a directory only root may enter
        # (git clone into `mktemp -d` makes one).
        readable = Path(tempfile.mkdtemp(dir="/tmp"))
        readable.chmod(0o755)
        script = readable / SCRIPT.name
        shutil.copyfile(SCRIPT, script)
        script.chmod(0o644)
        command = [runuser, "-u", "nobody", "--", "bash", str(script), "true"]
    try:
        result = subprocess.run(
            command, env=environment, text=True, capture_output=True, timeout=60
        )
    finally:
        if script != SCRIPT:
            shutil.rmtree(script.parent)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "error: the tests need PostgreSQL (initdb, pg_ctl) and none is installed; install it "
        "with 'sudo apt-get install postgresql' or set OMI_TEST_POSTGRES_DSN to a server you "
        "own"
    ]


def test_running_the_script_without_a_command_is_a_usage_error():
    result = run_script()
    assert result.returncode == 2
    assert result.stderr.startswith("usage: bash scripts/postgres.sh COMMAND")


# Prints the server's data directory and pid, then waits to be interrupted.
WAIT = """
import os, time, psycopg
with psycopg.connect(os.environ["OMI_TEST_POSTGRES_DSN"]) as conn:
    data = conn.execute("SHOW data_directory").fetchone()[0]
with open(os.path.join(data, "postmaster.pid")) as pid_file:
    print(data, int(pid_file.readline()), flush=True)
time.sleep(60)
"""


def _interruptible() -> None:
    """Ctrl-C's own action in the child, even in a run started with SIGINT ignored (as a
    shell's `cmd &` starts one): a script cannot trap a signal ignored when it started."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.mark.slow
@pytest.mark.parametrize("how", ["ctrl-c", "sigterm"])
def test_the_server_is_stopped_when_the_run_is_interrupted(how):
    """Ctrl-C reaches the whole foreground process group; a SIGTERM (a CI timeout, `kill`)
    may reach only the script. Either way the server stops and its directory goes."""
    environment = {
        key: value
        for key, value in os.environ.items()
        if key not in ("OMI_TEST_POSTGRES_DSN", "OMI_POSTGRES_DSN")
    }
    process = subprocess.Popen(
        ["bash", str(SCRIPT), sys.executable, "-c", WAIT],
        env=environment,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
        preexec_fn=_interruptible,
    )
    try:
        data, server_pid = process.stdout.readline().split()
        if how == "ctrl-c":
            os.killpg(process.pid, signal.SIGINT)
        else:
            process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
    finally:
        try:  # the script, and the waiting command a SIGTERM to the script leaves behind
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        process.wait()
    assert not running(int(server_pid)), "the server must be stopped"
    assert not Path(data).parent.exists(), "the server's directory must be removed"
