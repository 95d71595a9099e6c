#!/usr/bin/python3
"""A test SMTP server (aiosmtpd) that records every accepted message as one JSON line.

Usage: smtp_sink.py PORT OUTPUT_FILE CONTROL_FILE
Before each DATA it reads CONTROL_FILE: empty or missing accepts the message; a line such as
"451 try later" or "550 no such mailbox" is the reply instead (so a test can make the server
fail for a while, then recover). "hold" makes RCPT wait (and creates CONTROL_FILE.held) until
the file changes: a client is then stuck before DATA, where a test can kill it. "drop" closes
the connection at the next RCPT without a reply and empties CONTROL_FILE (a connection lost in
the middle of a session). Each accepted message is appended to OUTPUT_FILE and fsynced before
the 250 reply, so a message the client saw accepted is on disk; its "connection" field numbers
the SMTP connection it came on (1, 2, ... in the order of their first message).
"""
import asyncio
import email
import itertools
import json
import os
import sys
import time

from aiosmtpd.controller import Controller


class Sink:
    def __init__(self, output, control):
        self.output = output
        self.control = control
        self.connections = itertools.count(1)

    def reply(self):
        try:
            with open(self.control) as f:
                return f.read().strip()
        except FileNotFoundError:
            return ""

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        while self.reply() == "hold":
            open(self.control + ".held", "w").close()
            await asyncio.sleep(0.05)
        if self.reply() == "drop":
            open(self.control, "w").close()
            server.transport.close()
            return "421 closing"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        reply = self.reply()
        # A drop waits for the next RCPT, and a hold acts only at RCPT: a message that passed
        # RCPT before the test said "hold" is accepted. (Sent as DATA's reply, "hold" is no SMTP
        # reply at all; the client waited for a real one until its 10-minute timeout, which
        # was the killed-worker test's rare stall.)
        if reply and reply not in ("drop", "hold"):
            return reply
        if not hasattr(session, "number"):  # one session per connection
            session.number = next(self.connections)
        message = email.message_from_bytes(envelope.content)
        record = {
            "message_id": message.get("Message-ID", ""),
            "mail_from": envelope.mail_from,
            "rcpt": envelope.rcpt_tos,
            "from": message.get("From", ""),
            "subject": message.get("Subject", ""),
            "list_unsubscribe": message.get("List-Unsubscribe", ""),
            "connection": session.number,
        }
        with open(self.output, "a") as f:
            f.write(json.dumps(record) + "\n")
            f.flush()
            os.fsync(f.fileno())
        return "250 OK"


def main():
    port, output, control = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    controller = Controller(Sink(output, control), hostname="127.0.0.1", port=port)
    controller.start()
    print("READY", flush=True)
    while True:
        time.sleep(3600)


if __name__ == "__main__":
    main()
