#!/usr/bin/python3
"""The local SMTP sink of scripts/run.sh: accepts every message on loopback and writes each one,
as received (RFC 5322 text with its envelope recipients in X-Sink-To headers), to its own file
in MAIL_DIR, so a person can read the mails and `fieldwork simulate clicks MAIL_DIR` can follow
their tracked links.

Usage: smtp_sink.py PORT MAIL_DIR

A message is written to a hidden temporary name, fsynced, then renamed to NNNNNNNN.eml, so a
reader of MAIL_DIR never sees half a message and a message the client saw accepted is on disk.
Numbering continues after the highest file already there (restarts append, never overwrite).
"""
import asyncio
import os
import re
import signal
import sys

from aiosmtpd.controller import Controller


class FileSink:
    def __init__(self, mail_dir):
        self.mail_dir = mail_dir
        numbers = [int(m.group(1)) for m in
                   (re.fullmatch(r"(\d+)\.eml", name) for name in os.listdir(mail_dir)) if m]
        self.next_number = max(numbers, default=0) + 1

    async def handle_DATA(self, server, session, envelope):
        number = self.next_number
        self.next_number += 1
        name = "%08d.eml" % number
        temporary = os.path.join(self.mail_dir, "." + name + ".tmp")
        header = "".join("X-Sink-To: %s\r\n" % rcpt for rcpt in envelope.rcpt_tos)
        with open(temporary, "wb") as out:
            out.write(header.encode("ascii", "replace"))
            out.write(envelope.original_content or envelope.content)
            out.flush()
            os.fsync(out.fileno())
        os.rename(temporary, os.path.join(self.mail_dir, name))
        return "250 Message accepted for delivery"


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: smtp_sink.py PORT MAIL_DIR")
    port, mail_dir = int(sys.argv[1]), sys.argv[2]
    os.makedirs(mail_dir, exist_ok=True)
    controller = Controller(FileSink(mail_dir), hostname="127.0.0.1", port=port)
    controller.start()
    print("smtp sink on 127.0.0.1:%d writing to %s" % (port, mail_dir), flush=True)
    signal.sigwait({signal.SIGTERM, signal.SIGINT})  # blocked in main thread; the controller serves in its own
    controller.stop()


if __name__ == "__main__":
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM, signal.SIGINT})
    main()
