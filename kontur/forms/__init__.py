"""The action forms' logic: input rules, submission with idempotency keys, errors in words, audit,
and the local cache changes a successful action makes. Pages call these; they hold no logic."""
