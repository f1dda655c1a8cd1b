"""`outage-bot groups`: the group chats the bot speaks to on its own, registered by address (WeCom
robots and app chats; a group chat that can talk to the bot registers itself with /subscribe).

The CLI writes to the same database as the running bot; a confirmation message for a new group
goes into the outbox, and a running `outage-bot run` delivers it within seconds: so adding a group
also proves its robot key works.
"""

from __future__ import annotations

import argparse
import json
import re
import sys

from bot.app import open_store
from bot.channels import registry
from bot.config import Settings
from bot.ports import GroupKind
from bot.runtime.clock import SystemClock
from bot.store.base import Group, GroupExists, OutboundMessage

NAME = re.compile(r"^[\w\u4e00-\u9fff][\w\u4e00-\u9fff .-]{0,63}$")
WELCOME = {
    "text": "outage-bot 已接入本群：系统故障期间，这里会收到故障通报、提醒和恢复后的核对清单。\n"
    "outage-bot is connected: this group will get outage notices, reminders and the after-recovery checklist.",
    "options": [],
}


def add_parser(sub: argparse._SubParsersAction) -> None:
    groups = sub.add_parser("groups", help="the group chats the bot speaks to on its own")
    actions = groups.add_subparsers(dest="action", required=True, metavar="ACTION")
    add = actions.add_parser("add", help="register a group")
    where = add.add_mutually_exclusive_group(required=True)
    for _, kind in registry.GROUP_KINDS.values():
        where.add_argument(kind.flag, metavar=kind.metavar, help=kind.help, dest=_dest(kind))
    add.add_argument("--name", required=True, help="what admins call the group, e.g. 财务部")
    add.add_argument("--no-subscribe", action="store_true", help="don't send outage broadcasts and reminders")
    add.add_argument("--db", type=str)
    listing = actions.add_parser("list", help="list the groups")
    listing.add_argument("--json", action="store_true")
    listing.add_argument("--db", type=str)
    remove = actions.add_parser("remove", help="forget a group")
    remove.add_argument("name")
    remove.add_argument("--db", type=str)


def _dest(kind: GroupKind) -> str:
    return "address_" + kind.kind


def _mask(group: Group) -> str:
    """Some addresses are secrets (anyone with a robot key can post to its group): only their start."""
    _, kind = registry.GROUP_KINDS.get(group.kind, (None, None))
    return group.address[:4] + "…" if kind is not None and kind.secret else group.address


def _as_json(group: Group) -> dict:
    return {
        "name": group.name,
        "channel": group.channel,
        "kind": group.kind,
        "address": _mask(group),
        "subscribed": group.subscribed,
        "created_at": group.created_at.isoformat() if group.created_at else None,
    }


async def run(args: argparse.Namespace, settings: Settings) -> int:
    clock = SystemClock()
    async with open_store(settings) as store:
        if args.action == "list":
            groups = await store.groups()
            if args.json:
                print(json.dumps([_as_json(g) for g in groups], ensure_ascii=False))
            elif not groups:
                print("no groups yet: add one with `outage-bot groups add --wecom-robot KEY --name NAME`")
            else:
                for g in groups:
                    state = "subscribed" if g.subscribed else "not subscribed"
                    print(f"{g.name}\t{g.kind}\t{_mask(g)}\t{state}")
            return 0
        if args.action == "remove":
            if await store.remove_group(args.name):
                print(f"removed group {args.name}")
                return 0
            print(f"outage-bot groups: no group named {args.name!r}", file=sys.stderr)
            return 1
        if not NAME.match(args.name):
            print("outage-bot groups: --name must be 1-64 letters, digits, spaces, . _ or -", file=sys.stderr)
            return 2
        channel, kind = next((c, k) for c, k in registry.GROUP_KINDS.values() if getattr(args, _dest(k)) is not None)
        address = getattr(args, _dest(kind))
        if not kind.pattern.match(address):
            print(f"outage-bot groups: {kind.refusal}", file=sys.stderr)
            return 2
        group = Group(args.name, channel, kind.kind, address, subscribed=not args.no_subscribe)
        try:
            await store.add_group(group, clock.now())
        except GroupExists:
            print(f"outage-bot groups: a group with this name or address exists already ({args.name})", file=sys.stderr)
            return 1
        await store.enqueue([OutboundMessage(channel, group.chat, WELCOME)], clock.now())
        print(
            f"added group {args.name} ({kind.kind}); a confirmation message is queued for it, "
            "and a running `outage-bot run` delivers it"
        )
        return 0
