"""The annotation platform: the paper's three human studies in a real Label Studio server.

Data flows one way: generations and word maps in the store -> tasks (``studies``) -> Label
Studio (``push``) -> raters -> export (``pull`` or ``files``) -> validated judgements in the
store (``ingest``: raw export, parsed form, human masks, rater exclusions) -> item scores,
presence labels (``judgements``) and agreement (``agreement``, ``status``).

Modules: ``env`` (the server's own venv and template data folder), ``server`` (start, wait,
stop), ``serve`` (``bench annotate serve``), ``client`` (which server, which token, errors),
``redact`` (tokens never leave), ``projects``, ``push``, ``pull``, ``parse``, ``ingest``,
``judgements``, ``agreement``, ``status``, ``files`` and ``commands`` (the CLI's argument
parsing only).  The project side needs only ``label-studio-sdk``.
"""
