"""Network namespaces, veth links and strongSwan ``charon`` daemons: the parts of the real data plane.

Everything here needs root, iproute2, ``ping`` and strongSwan's charon with the kernel-libipsec plugin (ESP in
userspace; see ``ipsec-netns-recipe.md`` in the shared docs). No namespace made here is linked to the host's
own network, so no packet of the real data plane can leave the machine.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import vici

CHARON = Path("/usr/lib/ipsec/charon")
LIBIPSEC_PLUGIN = Path("/usr/lib/ipsec/plugins/libstrongswan-kernel-libipsec.so")
OPENSSL_PLUGIN = Path("/usr/lib/ipsec/plugins/libstrongswan-openssl.so")
# kernel-libipsec must come before kernel-netlink: the kernel here has no ESP, so IPsec runs in userspace.
CHARON_PLUGINS = "random nonce openssl pem pkcs1 x509 pubkey kdf kernel-libipsec kernel-netlink socket-default vici"
DEBIAN_PACKAGES = (
    "strongswan-charon strongswan-swanctl libcharon-extra-plugins libstrongswan-standard-plugins iproute2 iputils-ping"
)


def unavailable_reason() -> str | None:
    """Why the real data plane cannot run on this machine; None when it can."""
    if os.geteuid() != 0:
        return "the real data plane needs root (network namespaces)"
    if not Path("/dev/net/tun").exists():
        return "/dev/net/tun is missing (charon's kernel-libipsec carries ESP over a TUN device)"
    for tool in ("ip", "ping", "unshare", "mount"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed (Debian packages: {DEBIAN_PACKAGES})"
    for path in (CHARON, LIBIPSEC_PLUGIN, OPENSSL_PLUGIN):
        if not path.exists():
            return f"{path} is missing (Debian packages: {DEBIAN_PACKAGES})"
    if importlib.util.find_spec("vici") is None:
        return "the Python package vici is not installed (requirements-dev.txt)"
    return None


def run(argv: list[str], *, stdin: str | None = None, check: bool = True, timeout: float = 20) -> str:
    """Run a command; return its stdout, or raise ``RuntimeError`` with its stderr when it fails and ``check``."""
    done = subprocess.run(argv, input=stdin, capture_output=True, text=True, timeout=timeout, check=False)
    if check and done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv[:6])} ... failed ({done.returncode}): {done.stderr.strip()}")
    return done.stdout


def namespaces() -> set[str]:
    """Names of every network namespace on the machine."""
    return {line.split()[0] for line in run(["ip", "netns", "list"]).splitlines() if line.strip()}


def add_namespace(name: str, *, forward: bool) -> None:
    """Create a namespace with its loopback up; ``forward`` makes it a router."""
    run(["ip", "netns", "add", name])
    try:
        run(["ip", "-n", name, "link", "set", "lo", "up"])
        if forward:
            run(["ip", "netns", "exec", name, "sysctl", "-qw", "net.ipv4.ip_forward=1"])
    except Exception:
        delete_namespace(name)  # all or nothing: the next pass starts afresh
        raise


def delete_namespace(name: str) -> None:
    """Delete a namespace and, with it, its veth ends (and their peers) and bridges."""
    run(["ip", "netns", "del", name], check=False)


def batch(namespace: str, lines: list[str]) -> None:
    """Run ``ip`` commands in a namespace; ``-force`` goes on past a failing line (e.g. flushing an empty table)."""
    if lines:
        run(["ip", "-n", namespace, "-force", "-batch", "-"], stdin="\n".join(lines) + "\n", check=False)


def add_bridge(namespace: str, bridge: str, address: str | None) -> None:
    run(["ip", "-n", namespace, "link", "add", bridge, "type", "bridge"])
    if address:
        run(["ip", "-n", namespace, "addr", "add", address, "dev", bridge])
    run(["ip", "-n", namespace, "link", "set", bridge, "up"])


def add_veth(end_a: tuple[str, str, list[str], str | None], end_b: tuple[str, str, list[str], str | None]) -> None:
    """Link two namespaces; each end is ``(namespace, device, addresses, bridge to join or None)``."""
    (ns_a, dev_a, _, _), (ns_b, dev_b, _, _) = end_a, end_b
    run(["ip", "link", "add", dev_a, "netns", ns_a, "type", "veth", "peer", "name", dev_b, "netns", ns_b])
    try:
        for namespace, device, addresses, bridge in (end_a, end_b):
            for address in addresses:
                run(["ip", "-n", namespace, "addr", "add", address, "dev", device])
            if bridge:
                run(["ip", "-n", namespace, "link", "set", device, "master", bridge])
            run(["ip", "-n", namespace, "link", "set", device, "up"])
    except Exception:
        delete_link(ns_a, dev_a)  # all or nothing: the next pass starts afresh
        raise


def delete_link(namespace: str, device: str) -> None:
    """Delete a veth end (its peer goes with it)."""
    run(["ip", "-n", namespace, "link", "del", device], check=False)


def has_device(namespace: str, device: str) -> bool:
    return run(["ip", "-n", namespace, "link", "show", device], check=False) != ""


class Charon:
    """One charon daemon inside one namespace, driven over its own VICI socket (no config file holds a PSK)."""

    def __init__(self, namespace: str, directory: Path, *, log_level: int = 1) -> None:
        self.namespace = namespace
        self.directory = directory
        self.vici_path = directory / "charon.vici"
        self.log_path = directory / "charon.log"
        self.log_level = log_level
        self.process: subprocess.Popen | None = None

    def start(self, timeout: float = 15) -> None:
        """Start the daemon with a private ``/run`` (charon's PID file path is fixed) and wait for its socket."""
        (self.directory / "run").mkdir(parents=True, exist_ok=True)
        conf = self.directory / "strongswan.conf"
        conf.write_text(self._strongswan_conf(), encoding="utf-8")
        script = f"mount --bind {self.directory / 'run'} /run && exec {CHARON}"
        argv = ["ip", "netns", "exec", self.namespace, "unshare", "--mount", "--propagation", "private"]
        with open(self.directory / "stdout", "wb") as out:
            self.process = subprocess.Popen(
                [*argv, "sh", "-c", script],
                env={"PATH": os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin"), "STRONGSWAN_CONF": str(conf)},
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while not (self._socket_ready() and has_device(self.namespace, "ipsec0")):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"charon did not start in {self.namespace}: see {self.log_path}")
            time.sleep(0.05)  # a daemon starting up: nothing to poll but its socket and its TUN device

    def _socket_ready(self) -> bool:
        try:
            with socket.socket(socket.AF_UNIX) as probe:
                probe.connect(str(self.vici_path))
        except OSError:
            return False
        return True

    def _strongswan_conf(self) -> str:
        return (
            "charon {\n"
            "  load_modular = no\n"
            f"  load = {CHARON_PLUGINS}\n"
            "  install_routes = no\n"
            # JD's gateways accept IKEv1 aggressive mode with a PSK (ikeMode aggressive); strongSwan refuses it
            # as a responder unless told so.
            "  i_dont_care_about_security_and_use_aggressive_mode_psk = yes\n"
            # A lost IKE packet is resent after 1 s, every second (strongSwan's default backs off to minutes);
            # after 3 resends the attempt ends and the reconciler initiates afresh.
            "  retransmit_timeout = 1.0\n"
            "  retransmit_base = 1.0\n"
            "  retransmit_tries = 3\n"
            "  filelog {\n"
            f"    main {{ path = {self.log_path}\n"
            "           time_format = %T\n"
            f"           default = {self.log_level}\n"
            "           flush_line = yes }\n"
            "  }\n"
            f"  plugins {{ vici {{ socket = unix://{self.vici_path} }} }}\n"
            "}\n"
        )

    def session(self) -> vici.Session:
        """A new VICI session; close its socket with ``close_session``."""
        import vici  # only the real data plane needs it (a dev requirement, not in the Airflow image)

        sock = socket.socket(socket.AF_UNIX)
        sock.settimeout(10)
        sock.connect(str(self.vici_path))
        return vici.Session(sock)

    def stop(self, timeout: float = 10) -> None:
        """SIGTERM the daemon (it sends DELETE for its SAs) and wait for it to go away."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout)


def close_session(session: vici.Session) -> None:
    session.transport.socket.close()
