"""`linli-identity serve | migrate | rotate-keys | token | bootstrap-community | evaluate`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from linli_identity.bootstrap import (
    bootstrap_community,
    build_app,
    development_token,
    engine_recipe,
    rotate_template_keys,
)
from linli_identity.config import IdentitySettings
from linli_identity.domain import names
from linli_identity.domain.org import parse_role
from linli_identity.entrypoints import evaluate
from linli_identity.service_layer.key_rotation import ROTATION_BATCH
from linli_identity.service_layer.operators import CommunityBootstrap
from linli_kit.errors import DomainError
from linli_kit.logs import configure_logging
from linli_kit.service import run_cli
from linli_kit.settings import load_settings

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


def main(argv: list[str] | None = None) -> None:
    """Run the identity service command line."""
    args = sys.argv[1:] if argv is None else argv
    if args[:1] == ["rotate-keys"]:
        rotate_keys(args[1:])
        return
    if args[:1] == ["token"]:
        print_token(args[1:])
        return
    if args[:1] == ["bootstrap-community"]:
        bootstrap(args[1:])
        return
    if args[:1] == ["evaluate"]:
        evaluate.main(args[1:], engine_recipe)
        return
    run_cli("identity", IdentitySettings, build_app, MIGRATIONS, argv)


def rotate_keys(argv: list[str]) -> None:
    """Re-encrypt one community's face templates under its current key, then report."""
    parser = argparse.ArgumentParser(
        prog="linli-identity rotate-keys",
        description="Re-encrypt every face template of a community that is not under the "
        "community's current key (LINLI_IDENTITY_TEMPLATE_KEYS); old keys can be removed after.",
    )
    parser.add_argument("--community", required=True, help="community id, e.g. c-east")
    parser.add_argument("--batch", type=int, default=ROTATION_BATCH, help="templates per commit")
    args = parser.parse_args(argv)
    if args.batch < 1:
        parser.error("--batch must be at least 1")
    settings = load_settings(IdentitySettings)
    configure_logging("identity", settings.log_level, settings.log_format)
    try:
        rotation = rotate_template_keys(settings, args.community, args.batch)
    except DomainError as exc:
        sys.stderr.write(f"rotate-keys failed: {exc}\n")
        raise SystemExit(1) from None
    print(
        f"{rotation.re_encrypted} face templates of {args.community} re-encrypted; "
        f"all are under key {rotation.key_id}"
    )


def print_token(argv: list[str]) -> None:
    """Print an access token for a person by phone (development: for grpcurl -H)."""
    parser = argparse.ArgumentParser(
        prog="linli-identity token",
        description="Print an access token (10 minutes) for the resident with this phone, "
        "with every role they hold; use it as -H 'authorization: Bearer <token>'. Recorded in "
        "the login audit. Needs signing keys (LINLI_IDENTITY_DEV_SIGNING_KEYS=1 locally).",
    )
    parser.add_argument("--community", required=True, help="community id, e.g. c-east")
    parser.add_argument("--phone", required=True, help="the resident's phone number")
    args = parser.parse_args(argv)
    settings = load_settings(IdentitySettings)
    configure_logging("identity", settings.log_level, settings.log_format)
    try:
        token = development_token(settings, args.community, args.phone)
    except DomainError as exc:
        sys.stderr.write(f"token failed: {exc}\n")
        raise SystemExit(1) from None
    print(token)


def bootstrap(argv: list[str]) -> None:
    """Create a community and its first staff member on the database; print their name."""
    parser = argparse.ArgumentParser(
        prog="linli-identity bootstrap-community",
        description="Create the community if missing, register the resident with this phone if "
        "missing, grant the roles and (optionally) set a password, directly on the database. "
        "Running it again changes nothing and prints the same resident name.",
    )
    parser.add_argument("--community", required=True, help="community id, e.g. c-east")
    parser.add_argument("--display-name", required=True, help="the community's display name")
    parser.add_argument("--phone", required=True, help="the staff member's phone number")
    parser.add_argument("--name", required=True, help="the staff member's display name")
    parser.add_argument("--org-unit", default="", help="where they work (free text)")
    parser.add_argument(
        "--role",
        action="append",
        help="a role to grant (repeatable; default social_worker)",
    )
    parser.add_argument("--password-file", type=Path, help="a file holding their password")
    args = parser.parse_args(argv)
    settings = load_settings(IdentitySettings)
    configure_logging("identity", settings.log_level, settings.log_format)
    try:
        spec = CommunityBootstrap(
            args.community,
            args.display_name,
            args.phone,
            args.name,
            args.org_unit,
            tuple(parse_role(role) for role in args.role or ["social_worker"]),
            args.password_file.read_text().strip() if args.password_file else None,
        )
        resident = bootstrap_community(settings, spec)
    except DomainError as exc:
        sys.stderr.write(f"bootstrap-community failed: {exc}\n")
        raise SystemExit(1) from None
    print(names.RESIDENT.format(community=resident.community_id, resident=resident.id))
