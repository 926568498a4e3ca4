"""A local SMTP server for tests: accepts every message (plain SMTP, no TLS, no auth) and keeps it.

Just enough of RFC 5321 for ``smtplib``: EHLO/HELO, MAIL, RCPT, DATA, RSET, NOOP, QUIT.
"""

from __future__ import annotations

import email
import email.policy
import json
import socketserver
import threading
from email.message import EmailMessage


class _Session(socketserver.StreamRequestHandler):
    server: SmtpSink

    def reply(self, line: str) -> None:
        self.wfile.write(f"{line}\r\n".encode())

    def handle(self) -> None:
        self.reply("220 smtp-sink ready")
        sender, recipients = None, []
        while line := self.rfile.readline():
            command = line.decode("utf-8", "replace").strip()
            verb = command.split(" ", 1)[0].upper()
            if verb in ("EHLO", "HELO"):
                self.reply("250 smtp-sink")
            elif verb == "MAIL":
                sender, recipients = command.split(":", 1)[1].strip(), []
                self.reply("250 OK")
            elif verb == "RCPT":
                recipients.append(command.split(":", 1)[1].strip())
                self.reply("250 OK")
            elif verb == "DATA":
                self.reply("354 end with <CRLF>.<CRLF>")
                self.server.keep(self._read_data(), sender, recipients)
                self.reply("250 OK queued")
            elif verb in ("RSET", "NOOP"):
                self.reply("250 OK")
            elif verb == "QUIT":
                self.reply("221 bye")
                return
            else:
                self.reply("502 not implemented")

    def _read_data(self) -> bytes:
        lines = []
        while (line := self.rfile.readline()) not in (b".\r\n", b".\n", b""):
            lines.append(line[1:] if line.startswith(b"..") else line)  # undo dot-stuffing
        return b"".join(lines)


class SmtpSink(socketserver.ThreadingTCPServer):
    """``with SmtpSink() as sink:`` serves on 127.0.0.1:<free port>; ``sink.messages`` holds what arrived."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Session)
        self.messages: list[EmailMessage] = []
        self.envelopes: list[tuple[str | None, list[str]]] = []
        self._arrived = threading.Condition()

    @property
    def port(self) -> int:
        return self.server_address[1]

    def connection_json(self, **extra: object) -> str:
        """An Airflow ``smtp`` connection for this server (no TLS, no SSL, no login)."""
        extras = {"disable_tls": True, "disable_ssl": True, "retry_limit": 0, "timeout": 5, **extra}
        return json.dumps({"conn_type": "smtp", "host": "127.0.0.1", "port": self.port, "extra": extras})

    def keep(self, data: bytes, sender: str | None, recipients: list[str]) -> None:
        with self._arrived:
            self.messages.append(email.message_from_bytes(data, policy=email.policy.default))
            self.envelopes.append((sender, recipients))
            self._arrived.notify_all()

    def wait_for(self, count: int, timeout: float = 10) -> list[EmailMessage]:
        """Block until ``count`` messages have arrived (or ``timeout`` passed); return all of them."""
        with self._arrived:
            self._arrived.wait_for(lambda: len(self.messages) >= count, timeout=timeout)
            return list(self.messages)

    def __enter__(self) -> SmtpSink:
        threading.Thread(target=self.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()
        self.server_close()
