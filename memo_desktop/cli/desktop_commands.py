"""`memo-desktop install-desktop [--uninstall]`: the app's menu entry, icon and AppStream metainfo for this user."""

from __future__ import annotations

import argparse

from memo_desktop.core import desktop_integration


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("install-desktop",
                       help="add the app to this user's desktop menu (desktop entry, icon, metainfo in "
                            "$XDG_DATA_HOME, default ~/.local/share); its entry starts this installation")
    p.add_argument("--uninstall", action="store_true", help="remove those files again")
    p.set_defaults(handler=install_desktop)


def install_desktop(args: argparse.Namespace) -> int:
    if args.uninstall:
        removed = desktop_integration.uninstall()
        for path in removed:
            print(f"removed {path}")
        if not removed:
            print(f"nothing to remove in {desktop_integration.data_home()}")
        return 0
    for path in desktop_integration.install():
        print(f"installed {path}")
    return 0
