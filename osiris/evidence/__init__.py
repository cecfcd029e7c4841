"""Evidence: signed bundles, the per-site Merkle log, checkpoints and their verification.

What a caller uses:

- :func:`osiris.evidence.bundle.seal_scan`: one host's scan outcome as a DSSE envelope
  around an in-toto statement (scrubbed, RFC 8785, Ed25519 by the site key);
  :func:`~osiris.evidence.bundle.seal_action`: the same for one finished heal action;
- :func:`osiris.evidence.log.append_bundles`: append sealed bundles as leaves, inside the
  caller's transaction (the one writing the results, or the action's final row);
  :func:`~osiris.evidence.log.write_checkpoint`, :func:`~osiris.evidence.log.prove_inclusion`,
  :func:`~osiris.evidence.log.prove_consistency`;
- :func:`osiris.evidence.verify.verify_log`: every property of the whole log, by name.

The mechanics live beside them: ``merkle`` (RFC 6962/9162), ``dsse``, ``statement``
(scans), ``action`` (heal actions), ``checkpoint`` (C2SP signed notes), ``clock``,
``keys``, and the verifier's parts (``bundles_check``, ``walk``, ``report``).
"""
