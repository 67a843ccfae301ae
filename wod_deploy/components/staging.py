"""Where pyinfra stages uploads on a host: the SSH user's own directory, 0700.

pyinfra uploads over SFTP as the SSH user, then copies into place with sudo. By default it stages
at /tmp/pyinfra-<sha1 of the destination>: a name anyone can predict and pre-create, in a
directory every participant writes. config.py points pyinfra at Settings.staging_dir instead;
this component, first in every role, makes it before anything is uploaded.
"""

from pyinfra.api import deploy as pyinfra_deploy
from pyinfra.facts.files import Directory

from facts.accounts import LoginUser

from .. import reads
from ..checks import expect, mode
from ..operations.files import octal_mode, private_dir
from ..settings import Settings


@pyinfra_deploy("Upload staging")
def deploy(settings: Settings):
    reads.together(reads.read(LoginUser), reads.read(Directory, path=settings.staging_dir))
    private_dir(name=f"Private staging for uploads ({settings.staging_dir})", path=settings.staging_dir)


def checks(settings: Settings, probe):
    info = probe(Directory, path=settings.staging_dir)
    owner = probe(LoginUser)
    yield expect("staging.directory", settings.staging_dir, f"directory of {owner}, 0700",
                 info and f"directory of {info['user']}, {mode(octal_mode(info))}")
