"""Built-in validation policies (YAML documents; see ``app.validation.policy``).

``<name>.yaml`` is the newest version of each built-in; ``archive/<name>@<version>.yaml`` keeps
every earlier version unchanged, so a job that recorded ``name@version`` can always be re-judged
by the same gates. ``digests.json`` pins the resolved digest of every ``name@version``; a test
fails when one changes. To change a built-in: copy ``<name>.yaml`` to ``archive/<name>@<old>.yaml``
unchanged, raise ``version`` in ``<name>.yaml``, and record the new ``name@version`` in
``digests.json``. Built-ins extend a pinned version (``extends: default@2``), so a new base
version changes no derived built-in until that one gets a new version of its own.
"""
