#!/usr/bin/python3
"""The local message sink of scripts/run.sh: an SMTP server and an SMS gateway on loopback that
accept every message and write each one to its own file in MAIL_DIR, so a person can read what
the services sent and `fieldwork simulate clicks MAIL_DIR` can follow the tracked links.

Usage: smtp_sink.py SMTP_PORT SMS_PORT MAIL_DIR

E-mail: NNNNNNNN.eml, the message as received (RFC 5322) after X-Sink-To headers naming the
envelope recipients. SMS: NNNNNNNN.sms, "To:", "From:", "Reference:" lines, a blank line and the
body, from the form POST messaging's SMS channel sends (To, From, Body, Reference) to
http://127.0.0.1:SMS_PORT/ (answered 200 with a JSON id).

Each file is written to a hidden temporary name, fsynced, then renamed, so a reader of MAIL_DIR
never sees half a message and a message the sender saw accepted is on disk. Numbering goes on
after the highest number already there (a restart appends, never overwrites).
"""
import http.server
import json
import os
import re
import signal
import sys
import threading
import urllib.parse

from aiosmtpd.controller import Controller


class MailDir:
    def __init__(self, path):
        self.path = path
        self.lock = threading.Lock()
        numbers = [int(m.group(1)) for m in
                   (re.fullmatch(r"(\d+)\.(eml|sms)", name) for name in os.listdir(path)) if m]
        self.next_number = max(numbers, default=0) + 1

    def write(self, extension, data):
        with self.lock:
            number = self.next_number
            self.next_number += 1
        name = "%08d.%s" % (number, extension)
        temporary = os.path.join(self.path, "." + name + ".tmp")
        with open(temporary, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.rename(temporary, os.path.join(self.path, name))
        return name


class SmtpHandler:
    def __init__(self, mail_dir):
        self.mail_dir = mail_dir

    async def handle_DATA(self, server, session, envelope):
        header = "".join("X-Sink-To: %s\r\n" % rcpt for rcpt in envelope.rcpt_tos)
        self.mail_dir.write("eml", header.encode("ascii", "replace") +
                            (envelope.original_content or envelope.content))
        return "250 Message accepted for delivery"


def sms_handler(mail_dir):
    class SmsHandler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            length = int(self.headers.get("Content-Length", "0"))
            form = urllib.parse.parse_qs(self.rfile.read(length).decode("utf-8"))
            field = lambda key: form.get(key, [""])[0]
            if not field("To") or not field("Body"):
                self.send_error(400, "To and Body are required")
                return
            text = "To: %s\nFrom: %s\nReference: %s\n\n%s\n" % (
                field("To"), field("From"), field("Reference"), field("Body"))
            name = mail_dir.write("sms", text.encode("utf-8"))
            reply = json.dumps({"id": name}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        def log_message(self, format, *args):  # one line per SMS on stderr is noise
            pass

    return SmsHandler


def main():
    if len(sys.argv) != 4:
        sys.exit("usage: smtp_sink.py SMTP_PORT SMS_PORT MAIL_DIR")
    smtp_port, sms_port, path = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    os.makedirs(path, exist_ok=True)
    mail_dir = MailDir(path)
    controller = Controller(SmtpHandler(mail_dir), hostname="127.0.0.1", port=smtp_port)
    controller.start()
    sms = http.server.ThreadingHTTPServer(("127.0.0.1", sms_port), sms_handler(mail_dir))
    threading.Thread(target=sms.serve_forever, daemon=True).start()
    print("smtp sink on 127.0.0.1:%d, sms gateway on 127.0.0.1:%d, writing to %s"
          % (smtp_port, sms_port, path), flush=True)
    # SIGTERM and SIGINT are blocked in every thread; the main thread waits for them here.
    signal.sigwait({signal.SIGTERM, signal.SIGINT})
    sms.shutdown()
    controller.stop()


if __name__ == "__main__":
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM, signal.SIGINT})
    main()
