"""A generic, pure transparency log: RFC 9162 Merkle trees and proofs, C2SP signed notes, checkpoints,
cosignatures and tiles. No I/O, no database, and nothing about diamonds: storage and transport plug in
through the ``HashReader`` and ``TileFetcher`` protocols.

Modules: ``hashing`` (leaf and node hashes), ``tree`` (roots and proof generation from stored
perfect-subtree hashes), ``proofs`` (proof verification), ``note`` (signed notes, Ed25519 keys, vkeys),
``checkpoint`` (tree heads), ``cosignature`` (witness cosignatures), ``tiles`` (tile layout, entry bundles).

Every error is an ``adamas.errors.AdamasError`` whose ``code`` starts with ``log.`` or ``note.``; each
module's docstring lists the codes it raises.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from adamas._lazy import lazy_exports

if TYPE_CHECKING:
    from adamas.log.checkpoint import Checkpoint, open_checkpoint, sign_checkpoint
    from adamas.log.cosignature import (
        COSIGNATURE_TYPE,
        Cosignature,
        CosignatureVerifier,
        Cosigner,
        cosignature_message,
        verify_cosignature,
    )
    from adamas.log.hashing import EMPTY_ROOT, HASH_SIZE, leaf_hash, node_hash
    from adamas.log.note import (
        ED25519_TYPE,
        Note,
        NoteSignature,
        NoteSigner,
        NoteVerifier,
        Signer,
        Verifier,
        VerifierKey,
        open_note,
        parse_vkey,
        sign_note,
    )
    from adamas.log.proofs import (
        root_from_inclusion_proof,
        verify_consistency,
        verify_inclusion,
        verify_witness_consistency,
    )
    from adamas.log.tiles import (
        Tile,
        TileFetcher,
        TileHashReader,
        build_tile,
        decode_entry_bundle,
        encode_entry_bundle,
        entry_bundles_for_size,
        new_tiles,
        parse_tile_path,
        tile_hashes,
        tiles_for_size,
        verify_entry_bundle,
    )
    from adamas.log.tree import (
        HashReader,
        MemoryHashStore,
        NodeId,
        consistency_proof,
        inclusion_proof,
        new_node_hashes,
        root_from_leaf_hashes,
        tree_root,
    )

# Imported on first use (PEP 562): a module that needs the hashes or the tree (the store, the read path)
# does not import the notes, checkpoints and cosignatures, nor PyNaCl with them (CLI start-up, issue 14).
_LAZY = {
    "COSIGNATURE_TYPE": "adamas.log.cosignature",
    "Checkpoint": "adamas.log.checkpoint",
    "Cosignature": "adamas.log.cosignature",
    "CosignatureVerifier": "adamas.log.cosignature",
    "Cosigner": "adamas.log.cosignature",
    "ED25519_TYPE": "adamas.log.note",
    "EMPTY_ROOT": "adamas.log.hashing",
    "HASH_SIZE": "adamas.log.hashing",
    "HashReader": "adamas.log.tree",
    "MemoryHashStore": "adamas.log.tree",
    "NodeId": "adamas.log.tree",
    "Note": "adamas.log.note",
    "NoteSignature": "adamas.log.note",
    "NoteSigner": "adamas.log.note",
    "NoteVerifier": "adamas.log.note",
    "Signer": "adamas.log.note",
    "Tile": "adamas.log.tiles",
    "TileFetcher": "adamas.log.tiles",
    "TileHashReader": "adamas.log.tiles",
    "Verifier": "adamas.log.note",
    "VerifierKey": "adamas.log.note",
    "build_tile": "adamas.log.tiles",
    "consistency_proof": "adamas.log.tree",
    "cosignature_message": "adamas.log.cosignature",
    "decode_entry_bundle": "adamas.log.tiles",
    "encode_entry_bundle": "adamas.log.tiles",
    "entry_bundles_for_size": "adamas.log.tiles",
    "inclusion_proof": "adamas.log.tree",
    "leaf_hash": "adamas.log.hashing",
    "new_node_hashes": "adamas.log.tree",
    "new_tiles": "adamas.log.tiles",
    "node_hash": "adamas.log.hashing",
    "open_checkpoint": "adamas.log.checkpoint",
    "open_note": "adamas.log.note",
    "parse_tile_path": "adamas.log.tiles",
    "parse_vkey": "adamas.log.note",
    "root_from_inclusion_proof": "adamas.log.proofs",
    "root_from_leaf_hashes": "adamas.log.tree",
    "sign_checkpoint": "adamas.log.checkpoint",
    "sign_note": "adamas.log.note",
    "tile_hashes": "adamas.log.tiles",
    "tiles_for_size": "adamas.log.tiles",
    "tree_root": "adamas.log.tree",
    "verify_consistency": "adamas.log.proofs",
    "verify_cosignature": "adamas.log.cosignature",
    "verify_entry_bundle": "adamas.log.tiles",
    "verify_inclusion": "adamas.log.proofs",
    "verify_witness_consistency": "adamas.log.proofs",
}


__getattr__, __dir__ = lazy_exports(__name__, _LAZY)


__all__ = [
    "COSIGNATURE_TYPE",
    "ED25519_TYPE",
    "EMPTY_ROOT",
    "HASH_SIZE",
    "Checkpoint",
    "Cosignature",
    "CosignatureVerifier",
    "Cosigner",
    "HashReader",
    "MemoryHashStore",
    "NodeId",
    "Note",
    "NoteSignature",
    "NoteSigner",
    "NoteVerifier",
    "Signer",
    "Tile",
    "TileFetcher",
    "TileHashReader",
    "Verifier",
    "VerifierKey",
    "build_tile",
    "consistency_proof",
    "cosignature_message",
    "decode_entry_bundle",
    "encode_entry_bundle",
    "entry_bundles_for_size",
    "inclusion_proof",
    "leaf_hash",
    "new_node_hashes",
    "new_tiles",
    "node_hash",
    "open_checkpoint",
    "open_note",
    "parse_tile_path",
    "parse_vkey",
    "root_from_inclusion_proof",
    "root_from_leaf_hashes",
    "sign_checkpoint",
    "sign_note",
    "tile_hashes",
    "tiles_for_size",
    "tree_root",
    "verify_consistency",
    "verify_cosignature",
    "verify_entry_bundle",
    "verify_inclusion",
    "verify_witness_consistency",
]
