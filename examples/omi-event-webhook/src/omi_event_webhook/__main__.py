"""`python -m omi_event_webhook redeliver`: send the dead letters again, from a shell or cron.

Exit codes: 0 every dead letter was delivered, 1 some are still waiting, 2 a bad argument,
including a dead-letter file that does not exist (one line on stderr): a typo in
--dead-letters must not pass for "nothing was waiting".
"""

from __future__ import annotations

import argparse
import sys
from typing import List, Optional

from omi_event_webhook.handler import DEFAULT_DEAD_LETTERS, WebhookHandler


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m omi_event_webhook",
                                     description="Tools for the OMI webhook event handler.")
    commands = parser.add_subparsers(dest="command", required=True)
    redeliver = commands.add_parser(
        "redeliver", help="send the events in the dead-letter file again",
        description="Send every event in the dead-letter file again; the ones that still "
                    "fail stay in it. The secret comes from --secret or OMI_WEBHOOK_SECRET.")
    redeliver.add_argument("--url", required=True, help="the webhook endpoint")
    redeliver.add_argument("--secret", help="the signing secret (default: OMI_WEBHOOK_SECRET)")
    redeliver.add_argument("--dead-letters", default=DEFAULT_DEAD_LETTERS,
                           help=f"the dead-letter file (default: {DEFAULT_DEAD_LETTERS})")
    redeliver.add_argument("--timeout", type=float, default=5.0, help="seconds per attempt")
    redeliver.add_argument("--max-retries", type=int, default=2, help="retries per event")
    args = parser.parse_args(argv)
    try:
        handler = WebhookHandler(args.url, args.secret, args.dead_letters, timeout=args.timeout,
                                 max_retries=args.max_retries, cooldown=0)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if not handler.dead_letter_path.is_file():
        print(f"error: there is no dead-letter file {handler.dead_letter_path}; check "
              f"--dead-letters (the handler creates it when an event cannot be delivered)",
              file=sys.stderr)
        return 2
    result = handler.redeliver()
    print(f"delivered {result.delivered}, still waiting {result.remaining} "
          f"({handler.dead_letter_path})")
    return 0 if result.remaining == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
