"""Custom pyinfra operations, one module per subject beside its facts (facts/<subject>.py).

Each reads its facts and yields only the commands needed; a no-change run yields nothing and
says so with host.noop. Every value reaches the shell through wod_deploy.shell.
"""
