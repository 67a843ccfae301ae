"""WoD defaults for every host: the names are upstream's (wod-install and wod-backend all.yml).

Override per environment in group_data/<env>.py, per role in group_data/<role>.py, per host in
the inventory. No secret lives here: tokens are generated on the hosts.
"""

# Every operation runs through sudo: we log in as an ordinary admin account.
_sudo = True

# Students studentN, N in USERMIN..USERMAX: uid UIDBASE+N, gid GIDBASE+N, home STUDDIR/studentN.
USERMIN = 1
USERMAX = 20
UIDBASE = 2000
GIDBASE = 2000
STUDDIR = "/student"
# Offset of this backend's students in the api-db (WODBASESTDID = USERMAX x (backend number - 1)).
BASESTDID = 0
# CLEAN=True removes every student account and home before re-creating them (WoD's meaning).
CLEAN = False

# The admin account: sudo, owner of the workshop material, receiver of the mail API.
WODUSER = "wodadmin"
WODUSER_KEYS = []  # SSH public keys (strings) allowed to log in as WODUSER
WODSENDER = "wodadmin@localhost"  # the only sender the mail API obeys

# JupyterHub (backend)
JPHUB = "/opt/jupyterhub"
WODBEPORT = 8000
HUB_PACKAGES = [
    "jupyterhub==5.5.4",
    "jupyterlab==4.6.6",
]
KERNEL_PACKAGES = [
    "bash_kernel==0.10.0",
    "sshkernel==0.11.1",
]
CHP_VERSION = "4.6.3"  # configurable-http-proxy from npm (5.x needs Node >= 20)

# The mail API: postfix on POSTPORT accepts mail from the inventory's api_db hosts (each at its
# `wod_address`, `ssh_hostname` or name) and from MAILAPI_CLIENTS, nowhere else.
POSTPORT = 10025
MAILAPI_CLIENTS = []
# api-db callbacks (student password, customer active, completion); empty: the backend works alone.
# The moderator password comes from the environment (WOD_APIDB_PASSWORD) at deploy time.
WODAPIDBURL = ""
WODAPIDBUSER = "moderator"

# Workshops: a git URL (cloned on the machine running pyinfra) or a local directory.
WODNOBO = "https://github.com/Workshops-on-Demand/wod-notebooks.git"
WODNOBO_REF = "main"
# The private overlay is a group_data directory passed with --group-data; its all.py sets
# PRIVATE_DIR (workshops/ and templates/ beside it). See README, "Private overlay".
PRIVATE_DIR = ""
# The backend's external name and address (/etc/hosts, postfix myhostname, notebooks).
WODBEEXTFQDN = ""  # empty: the inventory host name
WODBEEXTIP = ""

# Security: the firewall keeps SSH, the hub and POSTPORT (api-db hosts only) open.
SSHD_PORT = 22
F2B_MAXRETRY = 3
F2B_BANTIME = 3600
SYSCTL = {
    "net.ipv4.tcp_keepalive_time": 1800,
    "kernel.threads-max": 4096000,
    "kernel.pid_max": 200000,
    "vm.max_map_count": 600000,
}

# Lean system baseline; WoD's heavy workshop toolchains are opt-in, e.g.
# WORKSHOP_PACKAGES = ["texlive-xetex", "default-jdk", "golang", "cargo", "rustc", "pandoc"]
BASE_PACKAGES = ["acl", "sudo", "curl", "git", "rsync", "unzip", "vim", "ca-certificates"]
WORKSHOP_PACKAGES = []

# Branding handed to notebooks and e-mails.
BRANDING = "WoD Developer"
BRANDINGWOD = "WoD Developer"
BRANDINGLOGO = "![HPEDevlogo](Pictures/hpe-dev-logo.png)"
BRANDINGURL = "https://wod.io"
BRANDINGSLACK = ""
BRANDINGX = ""
SURVEYURL = "TBD"
SURVEYCHALURL = "TBD"

# Per-workshop base ports (upstream's SSHPORT-WKSHP-X / HTTPPORT-WKSHP-X), keyed by workshop.
WORKSHOP_PORTS = {
    "WKSHP-Docker101": {"SSHPORT": 14101, "HTTPPORT": 14151},
    "WKSHP-Ansible101": {"SSHPORT": 16001, "HTTPPORT": 16051},
    "WKSHP-Spark101": {"HTTPPORT": 17161},
    "WKSHP-Concourse101": {"HTTPPORT": 19061},
    "WKSHP-ML101": {"HTTPPORT": 18061},
    "WKSHP-DataVisu101": {"HTTPPORT": 22161},
    "WKSHP-Tensorflow101": {"HTTPPORT": 23161},
}
