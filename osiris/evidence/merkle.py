"""RFC 6962 / RFC 9162 Merkle tree hashing, inclusion and consistency proofs.

Pure functions over SHA-256 (leaf = H(0x00 || data), node = H(0x01 || left || right);
a tree of n > 1 leaves splits at the largest power of two below n).

Proofs are computed from *perfect subtrees*: the hash of ``2**level`` leaves starting
at ``index * 2**level``. Anything that can hand those out (:class:`MemoryTree` here,
the SQLite log in :mod:`osiris.evidence.log`) is a :class:`NodeSource`, so proofs cost
O(log² n) look-ups and never re-hash the whole log. Nothing here recurses per leaf.

Verification functions raise :class:`ProofError` saying why a proof does not hold.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Protocol

from osiris.errors import OsirisError

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()


class ProofError(OsirisError, ValueError):
    """A root, inclusion proof or consistency proof that does not verify."""


def leaf_hash(data: bytes) -> bytes:
    """SHA-256(0x00 || data): the hash of one leaf."""
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """SHA-256(0x01 || left || right): the hash of an interior node."""
    return hashlib.sha256(b"\x01" + left + right).digest()


class NodeSource(Protocol):
    """Hashes of perfect subtrees: ``node(level, index)`` covers leaves
    ``[index * 2**level, (index + 1) * 2**level)``; level 0 is the leaf hash."""

    def node(self, level: int, index: int) -> bytes: ...


def build_levels(leaf_hashes: Sequence[bytes]) -> list[list[bytes]]:
    """Every perfect subtree of a tree, level by level (``levels[0]`` is the leaves).

    Level k holds ``len(leaf_hashes) >> k`` hashes; one pass, no recursion.
    """
    levels = [list(leaf_hashes)]
    sha = hashlib.sha256
    while len(levels[-1]) > 1:
        below = levels[-1]
        levels.append(
            [sha(b"\x01" + below[i] + below[i + 1]).digest() for i in range(0, len(below) - 1, 2)]
        )
    return levels


class MemoryTree:
    """A :class:`NodeSource` over leaf hashes held in memory."""

    def __init__(self, leaf_hashes: Sequence[bytes]) -> None:
        self.levels = build_levels(leaf_hashes)

    @property
    def size(self) -> int:
        return len(self.levels[0])

    def node(self, level: int, index: int) -> bytes:
        return self.levels[level][index]

    def root(self, size: int | None = None) -> bytes:
        return root(self, self.size if size is None else size)


def _largest_power_of_two_below(n: int) -> int:
    """The RFC's split point k: the largest power of two strictly less than n (n > 1)."""
    return 1 << ((n - 1).bit_length() - 1)


def subtree_root(nodes: NodeSource, start: int, end: int) -> bytes:
    """MTH(D[start:end]) for a range the RFC's recursion produces (``start`` is a
    multiple of a power of two at least ``end - start``): fold its perfect subtrees."""
    parts: list[bytes] = []
    while start < end:
        size = end - start
        level = size.bit_length() - 1  # the biggest aligned perfect subtree that fits
        if start:
            level = min(level, (start & -start).bit_length() - 1)
        parts.append(nodes.node(level, start >> level))
        start += 1 << level
    result = parts.pop()
    while parts:
        result = node_hash(parts.pop(), result)
    return result


def root(nodes: NodeSource, size: int) -> bytes:
    """The root hash of the first ``size`` leaves (the hash of the empty string for 0)."""
    if size == 0:
        return EMPTY_ROOT
    return subtree_root(nodes, 0, size)


def inclusion_proof(nodes: NodeSource, index: int, size: int) -> list[bytes]:
    """RFC 9162 2.1.3.1 PATH(index, D[0:size]), bottom-up."""
    if not 0 <= index < size:
        raise ProofError(f"leaf {index} is not in a tree of {size}")
    start, end, path = 0, size, []
    while end - start > 1:
        k = _largest_power_of_two_below(end - start)
        if index < start + k:
            path.append(subtree_root(nodes, start + k, end))
            end = start + k
        else:
            path.append(subtree_root(nodes, start, start + k))
            start += k
    return path[::-1]


def consistency_proof(nodes: NodeSource, old_size: int, new_size: int) -> list[bytes]:
    """RFC 9162 2.1.4.1 PROOF(old_size, D[0:new_size]), bottom-up."""
    if not 0 <= old_size <= new_size:
        raise ProofError(f"no consistency proof from {old_size} to {new_size}")
    if old_size in (0, new_size):
        return []
    start, end, complete, path = 0, new_size, True, []
    while True:
        if old_size == end:
            if not complete:
                path.append(subtree_root(nodes, start, end))
            break
        k = _largest_power_of_two_below(end - start)
        if old_size <= start + k:
            path.append(subtree_root(nodes, start + k, end))
            end = start + k
        else:
            path.append(subtree_root(nodes, start, start + k))
            start += k
            complete = False
    return path[::-1]


def _check_hash(value: bytes, what: str) -> None:
    if len(value) != HASH_SIZE:
        raise ProofError(f"{what} is {len(value)} bytes, not {HASH_SIZE}")


def root_from_inclusion_proof(leaf: bytes, index: int, size: int, proof: Sequence[bytes]) -> bytes:
    """The root an inclusion proof leads to (RFC 9162 2.1.3.2, steps 1-3)."""
    _check_hash(leaf, "leaf hash")
    if not 0 <= index < size:
        raise ProofError(f"leaf {index} is not in a tree of {size}")
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        _check_hash(p, "proof hash")
        if sn == 0:
            raise ProofError("inclusion proof is longer than the tree is deep")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn:
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError("inclusion proof is shorter than the tree is deep")
    return r


def verify_inclusion(
    leaf: bytes, index: int, size: int, proof: Sequence[bytes], expected_root: bytes
) -> None:
    """Raise :class:`ProofError` unless ``leaf`` is leaf ``index`` of the tree
    of ``size`` leaves whose root is ``expected_root``."""
    _check_hash(expected_root, "root")
    if root_from_inclusion_proof(leaf, index, size, proof) != expected_root:
        raise ProofError(f"inclusion proof for leaf {index} leads to another root")


def verify_consistency(
    old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> None:
    """Raise :class:`ProofError` unless the tree (new_size, new_root) extends
    (old_size, old_root) append-only (RFC 9162 2.1.4.2)."""
    _check_hash(old_root, "old root")
    _check_hash(new_root, "new root")
    if not 0 <= old_size <= new_size:
        raise ProofError(f"the log shrank from {old_size} to {new_size} leaves")
    if old_size == new_size:
        if proof:
            raise ProofError("a proof between trees of one size must be empty")
        if old_root != new_root:
            raise ProofError(f"two different roots for {old_size} leaves: the log forked")
        return
    if old_size == 0:
        if proof:
            raise ProofError("a proof from the empty tree must be empty")
        return
    if not proof:
        raise ProofError("empty consistency proof")
    for p in proof:
        _check_hash(p, "proof hash")
    path = list(proof)
    if old_size & (old_size - 1) == 0:  # an exact power of two: its root is a node
        path.insert(0, old_root)
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise ProofError("consistency proof is longer than the tree is deep")
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            while not fn & 1 and fn:
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError("consistency proof is shorter than the tree is deep")
    if fr != old_root:
        raise ProofError(f"consistency proof does not lead to the root of {old_size} leaves")
    if sr != new_root:
        raise ProofError(f"consistency proof does not lead to the root of {new_size} leaves")
