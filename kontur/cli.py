"""`kontur` command line: one entry point, each sub-command owned by its module."""

from __future__ import annotations

import importlib
import sys

# sub-command -> module whose `main(argv)` runs it (imported lazily: a sync must not pay for Kafka).
COMMANDS: dict[str, tuple[str, str]] = {
    "sandbox": ("kontur.sandbox.__main__", "run the Brusnika sandbox server"),
    "sync": ("kontur.sync", "sync the cache from Brusnika over REST"),
    "consume": ("kontur.kafka.cli", "feed the cache from Brusnika's Kafka topics"),
    "users": ("kontur.store.users_cli", "add, import (CSV) and list users of Kontur's directory"),
}


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in {"-h", "--help"} or args[0] not in COMMANDS:
        print("usage: kontur {" + ",".join(COMMANDS) + "} [options]\n")
        for name, (_, help_text) in COMMANDS.items():
            print(f"  {name:<10}{help_text}")
        return 0 if args and args[0] in {"-h", "--help"} else 2
    module = importlib.import_module(COMMANDS[args[0]][0])
    return int(module.main(args[1:]) or 0)


if __name__ == "__main__":
    raise SystemExit(main())
