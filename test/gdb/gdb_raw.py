#!/usr/bin/env python3
"""A raw gdb remote-protocol client for the stub's bad-input tests.

gdb_raw.py SOCKET SCENARIO: connects to unix socket SOCKET (or HOST:PORT),
plays SCENARIO against a kernel-mode stub stopped at the guest's first
instruction, and prints one "ok ..." line per check; on the first failed
check it prints "FAIL: what, got ..." and exits 1. Every read has a
deadline of LIMIT seconds (a missing reply is a failure, not a hang).
"""
import os
import random
import re
import socket
import sys

LIMIT = float(os.environ.get("GDB_RAW_LIMIT", "30"))


class Fail(Exception):
    pass


def csum(payload: bytes) -> bytes:
    return b"%02x" % (sum(payload) & 0xFF)


def frame(payload: bytes) -> bytes:
    return b"$" + payload + b"#" + csum(payload)


class Conn:
    def __init__(self, where):
        if ":" in where and not where.startswith("/"):
            host, port = where.rsplit(":", 1)
            self.s = socket.create_connection((host, int(port)), timeout=LIMIT)
        else:
            self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.s.settimeout(LIMIT)
            self.s.connect(where)
        self.buf = b""

    def send(self, raw: bytes):
        self.s.sendall(raw)

    def byte(self) -> bytes:
        if not self.buf:
            try:
                data = self.s.recv(65536)
            except socket.timeout:
                raise Fail("no reply within %gs" % LIMIT)
            if not data:
                raise Fail("the stub closed the connection")
            self.buf = data
        b, self.buf = self.buf[:1], self.buf[1:]
        return b

    def ack(self) -> bytes:
        """The next '+' or '-'."""
        b = self.byte()
        if b not in (b"+", b"-"):
            raise Fail("expected an ack, got %r" % (b + self.buf[:40]))
        return b

    def packet(self) -> bytes:
        """The next packet's payload (checksum verified, escapes undone)."""
        while self.byte() != b"$":
            pass
        body = b""
        while True:
            b = self.byte()
            if b == b"#":
                break
            body += b
        cs = self.byte() + self.byte()
        if csum(body) != cs:
            raise Fail("bad checksum from the stub on %r" % body[:60])
        out, i = b"", 0
        while i < len(body):
            if body[i:i + 1] == b"}":
                out += bytes([body[i + 1] ^ 0x20])
                i += 2
            else:
                out += body[i:i + 1]
                i += 1
        return out

    def cmd(self, payload: bytes) -> bytes:
        """Send a packet in ack mode: expect '+', return the reply (acked)."""
        self.send(frame(payload))
        a = self.ack()
        if a != b"+":
            raise Fail("packet %r was NAKed" % payload[:60])
        r = self.packet()
        self.send(b"+")
        return r


def check(cond, what, got=None):
    if not cond:
        raise Fail("%s%s" % (what, "" if got is None else ", got %r" % (got[:120] if isinstance(got, bytes) else got)))
    print("ok", what)


def is_error(r: bytes) -> bool:
    return re.fullmatch(rb"E[0-9a-fA-F]{2}", r) is not None


def stopped_at_start(c: Conn, what: str):
    r = c.cmd(b"?")
    check(r.startswith(b"T05thread:"), what, r)


def scenario_bad_input(c: Conn):
    stopped_at_start(c, "initial stop is SIGTRAP with a thread")
    # Garbage between packets (no '$'): ignored, the next packet is answered.
    rnd = random.Random(5)
    junk = bytes(rnd.choice([x for x in range(256) if x not in (0x24, 0x2B, 0x2D, 0x03)]) for _ in range(4096))
    c.send(junk)
    stopped_at_start(c, "a packet after 4 KiB of garbage is answered")
    # Garbage inside packets: random payloads with good checksums never kill the stub.
    for i in range(200):
        n = rnd.randrange(1, 80)
        payload = bytes(rnd.choice(b"gGpPmMXcCsSvZzHTqQk?D0123456789abcdef,:;.-=pm$#}*") for _ in range(n))
        payload = payload.replace(b"$", b"").replace(b"#", b"").replace(b"}", b"").replace(b"*", b"")
        if not payload or payload[:1] in (b"c", b"C", b"s", b"S", b"v", b"k", b"D"):
            continue  # resuming/killing packets are exercised below, deliberately
        c.cmd(payload)
    stopped_at_start(c, "200 random packets later the session goes on")
    # Bad checksum: NAK, and the retransmitted packet is answered.
    c.send(b"$g#00")
    check(c.ack() == b"-", "a bad checksum is NAKed")
    r = c.cmd(b"g")
    check(re.fullmatch(rb"[0-9a-f]+", r) is not None and len(r) == 2 * 560, "the retransmitted g gets 560 register bytes", r)
    # The stub retransmits its reply when we NAK it.
    c.send(frame(b"qC"))
    check(c.ack() == b"+", "qC acked")
    first = c.packet()
    c.send(b"-")
    again = c.packet()
    c.send(b"+")
    check(first == again and first.startswith(b"QC"), "a NAKed reply is sent again", again)
    # Oversized packet: accepted, refused with an error, session goes on.
    big = b"m" + b"0" * 20000
    r = c.cmd(big)
    check(is_error(r), "an oversized packet gets an E reply", r)
    stopped_at_start(c, "the session goes on after an oversized packet")
    # Malformed and unknown packets.
    for bad in (b"m12", b"mzz,4", b"m1,", b"M0,2:zz", b"M0,4:00", b"p999", b"pxyz", b"P0=12", b"Z0,abc",
                b"Z9,0,1", b"Hgzz", b"X0,4:a", b"G00", b"Z1,1000,0", b"m" + b"f" * 40 + b",1"):
        r = c.cmd(bad)
        check(is_error(r) or (bad.startswith(b"Z9") and r == b""), "malformed %r gets an error reply" % bad, r)
    for unknown in (b"qNoSuchThing", b"vNoSuchThing", b"!", b"QNoSuch:1", b"Z3,ffffffff80100000,4"):
        r = c.cmd(unknown)
        check(r == b"", "unsupported %r gets the empty reply" % unknown, r)
    # Memory and breakpoints at an unmapped address.
    r = c.cmd(b"m1000,10")
    check(r == b"E0e", "reading an unmapped address gets EFAULT", r)
    r = c.cmd(b"Z0,1000,1")
    check(r == b"E0e", "a breakpoint at an unmapped address gets EFAULT", r)
    r = c.cmd(b"Z1,1000,1")
    check(r == b"E0e", "a hardware breakpoint at an unmapped address gets EFAULT", r)
    # Four debug registers: a fifth watchpoint (or breakpoint where the host
    # delivers no data watchpoints, as kvm_pvm) gets ENOSPC; freeing one makes room.
    info = bytes.fromhex(c.cmd(b"qRcmd," + b"info debug".hex().encode()).decode())
    watch = b"\nwatchpoints: yes" in info
    hw = b"\nhardware breakpoints: yes" in info
    int3 = b"software breakpoints: yes, int3" in info
    check(b"software breakpoints: yes" in info, "monitor info debug: software breakpoints available", info)
    base = int(os.environ.get("GDB_RAW_DATA", "ffffffff80100000"), 16)
    if not watch:
        r = c.cmd(b"Z2,%x,8" % base)
        check(r == b"", "a watchpoint the host cannot deliver is refused (empty reply)", r)
    if not hw:
        r = c.cmd(b"Z1,%x,1" % base)
        check(r == b"", "a hardware breakpoint the host cannot deliver is refused (empty reply)", r)
    if int3:
        r = c.cmd(b"Z0,%x,1" % base)
        check(r == b"OK", "an int3 breakpoint inserted", r)
        r = c.cmd(b"m%x,1" % base)
        check(r != b"cc", "memory reads do not show the int3", r)
        r = c.cmd(b"z0,%x,1" % base)
        check(r == b"OK", "the int3 breakpoint removed", r)
    if not watch and not hw:
        print("ok no debug registers on this host: the fifth-register check does not apply")
        stopped_at_start(c, "the session is still usable")
        return finish(c)
    z, kind = (b"2", 8) if watch else (b"1", 1)
    for i in range(4):
        r = c.cmd(b"Z%s,%x,%d" % (z, base + 8 * i, kind))
        check(r == b"OK", "Z%s %d inserted" % (z.decode(), i + 1), r)
    r = c.cmd(b"Z%s,%x,%d" % (z, base + 64, kind))
    check(r == b"E1c", "a fifth hardware Z%s gets ENOSPC" % z.decode(), r)
    if not int3:
        r = c.cmd(b"Z0,%x,1" % (base + 72))
        check(r == b"E1c", "a software breakpoint with all four registers taken gets ENOSPC", r)
    r = c.cmd(b"z%s,%x,%d" % (z, base + 8, kind))
    check(r == b"OK", "one removed", r)
    r = c.cmd(b"z%s,%x,%d" % (z, base + 8, kind))
    check(r == b"E02", "removing it twice gets ENOENT", r)
    r = c.cmd(b"Z%s,%x,%d" % (z, base + 64, kind))
    check(r == b"OK", "the freed register takes a new one", r)
    for i in (0, 2, 3):
        c.cmd(b"z%s,%x,%d" % (z, base + 8 * i, kind))
    r = c.cmd(b"z%s,%x,%d" % (z, base + 64, kind))
    check(r == b"OK", "all removed", r)
    stopped_at_start(c, "the session is still usable")
    finish(c)


def finish(c: Conn):
    """Run to the end: W with the program's exit status."""
    c.send(frame(b"vCont;c"))
    check(c.ack() == b"+", "vCont;c acked")
    r = c.packet()  # not acked: after the final W the VM is gone
    check(r == b"W" + os.environ.get("GDB_RAW_EXIT", "03").encode(), "the program's exit is reported with W", r)


def scenario_interrupt(c: Conn):
    stopped_at_start(c, "initial stop")
    c.send(frame(b"QStartNoAckMode"))
    check(c.ack() == b"+", "QStartNoAckMode acked")
    r = c.packet()
    c.send(b"+")
    check(r == b"OK", "no-ack mode accepted", r)
    # From here on nothing is acknowledged either way.
    c.send(frame(b"vCont;c"))
    c.send(b"\x03")
    r = c.packet()
    check(re.match(rb"T02thread:", r) is not None, "0x03 stops the running VM with SIGINT", r)
    c.send(frame(b"g"))
    r = c.packet()
    check(len(r) == 1120, "registers readable after the interrupt", r)
    c.send(frame(b"k"))
    try:
        while True:
            c.byte()
    except Fail as e:
        check("closed" in str(e), "k ends the session (connection closed)", str(e).encode())


def main():
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    c = Conn(sys.argv[1])
    try:
        {"bad-input": scenario_bad_input, "interrupt": scenario_interrupt}[sys.argv[2]](c)
    except Fail as e:
        print("FAIL:", e)
        sys.exit(1)


if __name__ == "__main__":
    main()
