"""Student accounts studentN: one fact read and at most one script for all of them."""

from pyinfra.api import deploy

from . import operations
from .settings import Settings


@deploy("Students")
def students(settings: Settings):
    operations.students(
        name=f"Students {settings.USERMIN}..{settings.USERMAX} (accounts, homes, ACLs)",
        usermin=settings.USERMIN,
        usermax=settings.USERMAX,
        uidbase=settings.UIDBASE,
        gidbase=settings.GIDBASE,
        admin=settings.WODUSER,
        studdir=settings.STUDDIR,
        clean=settings.CLEAN,
    )
