#!/usr/bin/env python3
"""An independent re-implementation of the randomisation generator, from
services/randomisation/README.md alone (standard library only; ChaCha20 written out).

It checks the same known answers as generator_test.cc, so the README's specification, the
C++ library and this script agree: anyone holding a revealed secret can replay allocations.

    python3 reference_generator.py          # check the known answers (exit status 1 if not)
    python3 reference_generator.py --print  # print them
"""
import hashlib
import hmac
import struct
import sys

SCHEME = "fieldwork.randomisation.v1"
MASK64 = (1 << 64) - 1


def lp(s: bytes) -> bytes:
    return struct.pack("<Q", len(s)) + s


def encode(pairs):
    return b"".join(lp(k.encode()) + lp(v.encode()) for k, v in pairs)


def full_context(trial, factor, cohort, pairs):
    return [("scheme", SCHEME), ("trial", trial), ("factor", factor), ("cohort", cohort)] + pairs


def derive_key(secret: bytes, pairs) -> bytes:
    return hmac.new(secret, encode(pairs), hashlib.sha256).digest()


def _rotl(v, c):
    return ((v << c) & 0xFFFFFFFF) | (v >> (32 - c))


def _quarter(x, a, b, c, d):
    x[a] = (x[a] + x[b]) & 0xFFFFFFFF; x[d] = _rotl(x[d] ^ x[a], 16)
    x[c] = (x[c] + x[d]) & 0xFFFFFFFF; x[b] = _rotl(x[b] ^ x[c], 12)
    x[a] = (x[a] + x[b]) & 0xFFFFFFFF; x[d] = _rotl(x[d] ^ x[a], 8)
    x[c] = (x[c] + x[d]) & 0xFFFFFFFF; x[b] = _rotl(x[b] ^ x[c], 7)


def chacha20_block(key: bytes, counter: int, nonce: bytes) -> bytes:
    """RFC 8439 ChaCha20 block function."""
    state = [0x61707865, 0x3320646E, 0x79622D32, 0x6B206574]
    state += list(struct.unpack("<8I", key)) + [counter] + list(struct.unpack("<3I", nonce))
    x = list(state)
    for _ in range(10):
        _quarter(x, 0, 4, 8, 12); _quarter(x, 1, 5, 9, 13)
        _quarter(x, 2, 6, 10, 14); _quarter(x, 3, 7, 11, 15)
        _quarter(x, 0, 5, 10, 15); _quarter(x, 1, 6, 11, 12)
        _quarter(x, 2, 7, 8, 13); _quarter(x, 3, 4, 9, 14)
    return struct.pack("<16I", *[(a + b) & 0xFFFFFFFF for a, b in zip(x, state)])


class Stream:
    def __init__(self, key: bytes):
        self.key, self.counter, self.words = key, 0, []

    def word(self):
        if not self.words:
            block = chacha20_block(self.key, self.counter, bytes(12))
            self.counter += 1
            self.words = list(struct.unpack("<8Q", block))
        return self.words.pop(0)

    def below(self, n):
        m = self.word() * n
        if (m & MASK64) < n:
            t = (1 << 64) % n
            while (m & MASK64) < t:
                m = self.word() * n
        return m >> 64

    def uniform(self):
        return (self.word() >> 11) * 2.0 ** -53

    def weighted(self, weights):
        r = self.below(sum(weights))
        for i, w in enumerate(weights):
            if r < w:
                return i
            r -= w

    def shuffle(self, items):
        for i in range(len(items) - 1, 0, -1):
            j = self.below(i + 1)
            items[i], items[j] = items[j], items[i]


def exact_counts(stream, weights, n):
    total = sum(weights)
    counts = [n * w // total for w in weights]
    residue = [n * w % total for w in weights]
    remainder = n - sum(counts)
    if remainder == 0:
        return counts
    order = list(range(len(weights)))
    stream.shuffle(order)
    u = stream.below(total)
    start = 0
    for a in order:
        end = start + residue[a]
        j = 0 if start <= u else -(-(start - u) // total)
        if u + j * total < end:
            counts[a] += 1
        start = end
    return counts


def complete_within_strata(secret, trial, factor, cohort, weights, units, draw=0):
    """units: list of (participant id, stratum). Returns arm indices parallel to units."""
    strata = {}
    for i, (pid, stratum) in enumerate(units):
        strata.setdefault(stratum, []).append(i)
    out = [None] * len(units)
    for stratum, members in strata.items():
        members.sort(key=lambda i: units[i][0].encode())
        pairs = [("method", "complete_within_strata"), ("stratum", stratum), ("draw", str(draw))]
        s = Stream(derive_key(secret, full_context(trial, factor, cohort, pairs)))
        counts = exact_counts(s, weights, len(members))
        labels = [a for a, c in enumerate(counts) for _ in range(c)]
        s.shuffle(labels)
        for j, i in enumerate(members):
            out[i] = labels[j]
    return out


def simple(secret, trial, factor, cohort, weights, pid):
    pairs = [("method", "simple"), ("participant", pid)]
    return Stream(derive_key(secret, full_context(trial, factor, cohort, pairs))).weighted(weights)


def permuted_block(secret, trial, factor, cohort, weights, sizes, stratum, block):
    pairs = [("method", "permuted_blocks"), ("stratum", stratum), ("block", str(block))]
    s = Stream(derive_key(secret, full_context(trial, factor, cohort, pairs)))
    sizes = sorted(set(sizes))
    size = sizes[s.below(len(sizes))]
    labels = [a for a, w in enumerate(weights) for _ in range(size // sum(weights) * w)]
    s.shuffle(labels)
    return labels


# The known answers (the same as in generator_test.cc).
SECRET = bytes(range(32))
KAT_PAIRS = full_context("T1", "main", "", [("method", "kat"), ("draw", "0")])


def answers():
    out = {}
    out["encoding_sha256"] = hashlib.sha256(encode(KAT_PAIRS)).hexdigest()
    out["key"] = derive_key(SECRET, KAT_PAIRS).hex()
    s = Stream(derive_key(SECRET, KAT_PAIRS))
    out["words"] = ["%016x" % s.word() for _ in range(10)]
    s = Stream(derive_key(SECRET, KAT_PAIRS))
    out["below"] = [s.below(n) for n in (1, 2, 3, 6, 10, 1000, 2**63 + 1)]
    out["uniform"] = "%.17g" % s.uniform()
    s = Stream(derive_key(SECRET, KAT_PAIRS))
    items = list(range(10))
    s.shuffle(items)
    out["shuffle"] = items
    units = [("p%02d" % i, "north" if i % 3 else "south") for i in range(20)]
    out["complete_within_strata"] = "".join(
        str(a) for a in complete_within_strata(SECRET, "T1", "main", "", [2, 1], units))
    out["simple"] = "".join(
        str(simple(SECRET, "T1", "main", "", [1, 1, 1], "p%02d" % i)) for i in range(20))
    out["permuted_block"] = permuted_block(SECRET, "T1", "main", "", [1, 1], [4, 6], "north", 0)
    out["sha256_abc"] = hashlib.sha256(b"abc").hexdigest()
    return out


EXPECTED = {
    "encoding_sha256": "35bd59b12910d620635153f210a40c975c98a02d9b2f480de754c207096f925c",
    "key": "4d66898a83d1037505bc9845bc6360e4d83c81f2ea169470f5f3dbc820fb7fb2",
    "words": ["8adc2146659f2161", "8e3b9c88e3c15152", "0a6f2b04c60ab1b4", "fad6008df9942831",
              "46feeb992c4bb934", "e1d12b13efb1ebef", "5d86521cced164f1", "ff2cc367e97b1002",
              "37d0dfbbf3541e67", "cb397a376999ff9d"],
    "below": [0, 1, 0, 5, 2, 882, 3369582088044458616],
    "uniform": "0.99677678381838697",
    "shuffle": [3, 7, 2, 8, 4, 1, 6, 0, 9, 5],
    "complete_within_strata": "00100000100110110011",
    "simple": "21012102010220112012",
    "permuted_block": [0, 1, 0, 1],
    "sha256_abc": "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
}


def main():
    got = answers()
    if "--print" in sys.argv:
        for k, v in got.items():
            print(f"{k}: {v}")
        return 0
    bad = [k for k, v in EXPECTED.items() if got[k] != v]
    for k in bad:
        print(f"MISMATCH {k}: expected {EXPECTED[k]!r}, got {got[k]!r}")
    print("reference generator:", "FAILED" if bad else "all known answers match")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
