"""A real OpenLDAP server (Debian's slapd) for the directory login tests.

Its own cn=config made with slapadd in a temporary directory, an ephemeral loopback port,
fictional people and groups; stopped (and its files removed) by the fixture's teardown.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

SUFFIX = "dc=example,dc=org"
ADMIN_DN = f"cn=admin,{SUFFIX}"
ADMIN_PASSWORD = "admin-secret"
SERVICE_DN = f"cn=guichet-svc,{SUFFIX}"
SERVICE_PASSWORD = "service-secret"
PASSWORD = "directory-pass-1"
PEOPLE = f"ou=people,{SUFFIX}"
GROUPS = f"ou=groups,{SUFFIX}"

# A few Active Directory attributes, so the AD way (sAMAccountName, memberOf,
# userAccountControl) is tested against a real server too.
_CONFIG = """\
dn: cn=config
objectClass: olcGlobal
cn: config
olcPidFile: {tmp}/slapd.pid
olcTLSCertificateFile: {tmp}/cert.pem
olcTLSCertificateKeyFile: {tmp}/key.pem

dn: cn=module{{0}},cn=config
objectClass: olcModuleList
cn: module{{0}}
olcModulePath: /usr/lib/ldap
olcModuleLoad: back_mdb

dn: cn=schema,cn=config
objectClass: olcSchemaConfig
cn: schema

include: file:///etc/ldap/schema/core.ldif
include: file:///etc/ldap/schema/cosine.ldif
include: file:///etc/ldap/schema/inetorgperson.ldif

dn: cn=adlike,cn=schema,cn=config
objectClass: olcSchemaConfig
cn: adlike
olcAttributeTypes: ( 1.3.6.1.4.1.99999.1.1 NAME 'userAccountControl' EQUALITY integerMatch
  SYNTAX 1.3.6.1.4.1.1466.115.121.1.27 SINGLE-VALUE )
olcAttributeTypes: ( 1.3.6.1.4.1.99999.1.2 NAME 'sAMAccountName' EQUALITY caseIgnoreMatch
  SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 SINGLE-VALUE )
olcAttributeTypes: ( 1.3.6.1.4.1.99999.1.3 NAME 'memberOf' EQUALITY distinguishedNameMatch
  SYNTAX 1.3.6.1.4.1.1466.115.121.1.12 )
olcObjectClasses: ( 1.3.6.1.4.1.99999.2.1 NAME 'adLikeUser' AUXILIARY
  MAY ( userAccountControl $ sAMAccountName $ memberOf ) )

dn: olcDatabase={{-1}}frontend,cn=config
objectClass: olcDatabaseConfig
objectClass: olcFrontendConfig
olcDatabase: {{-1}}frontend

dn: olcDatabase={{0}}config,cn=config
objectClass: olcDatabaseConfig
olcDatabase: {{0}}config
olcAccess: {{0}}to * by * none

dn: olcDatabase={{1}}mdb,cn=config
objectClass: olcDatabaseConfig
objectClass: olcMdbConfig
olcDatabase: {{1}}mdb
olcSuffix: {suffix}
olcDbDirectory: {tmp}/data
olcRootDN: {admin}
olcRootPW: {admin_password}
olcAccess: {{0}}to attrs=userPassword by anonymous auth by self write by * none
olcAccess: {{1}}to * by users read by * none
"""


def _person(uid: str, name: str, mail: str, extra: str = "") -> str:
    return f"""\
dn: uid={uid},{PEOPLE}
objectClass: inetOrgPerson
objectClass: adLikeUser
uid: {uid}
cn: {name}
sn: {name.split()[-1]}
mail: {mail}
sAMAccountName: {uid}
userPassword: {PASSWORD}
{extra}
"""


def _group(cn: str, *members: str) -> str:
    lines = "\n".join(f"member: uid={m},{PEOPLE}" for m in members)
    return f"dn: cn={cn},{GROUPS}\nobjectClass: groupOfNames\ncn: {cn}\n{lines}\n"


_DATA = "\n".join(
    [
        f"dn: {SUFFIX}\nobjectClass: dcObject\nobjectClass: organization\n"
        "dc: example\no: Example\n",
        f"dn: {PEOPLE}\nobjectClass: organizationalUnit\nou: people\n",
        f"dn: {GROUPS}\nobjectClass: organizationalUnit\nou: groups\n",
        f"dn: {SERVICE_DN}\nobjectClass: organizationalRole\nobjectClass: simpleSecurityObject\n"
        f"cn: guichet-svc\nuserPassword: {SERVICE_PASSWORD}\n",
        _person(
            "alice",
            "Alice Martin",
            "alice.martin@example.org",
            f"memberOf: cn=desk-n1,{GROUPS}\nmemberOf: cn=chu-staff,{GROUPS}\n"
            "userAccountControl: 512",
        ),
        _person(
            "bruno", "Bruno Petit", "bruno.petit@example.org", f"memberOf: cn=chu-staff,{GROUPS}"
        ),
        _person("chloe", "Chloé Durand", "chloe.durand@example.org", "employeeType: disabled"),
        # Disabled the Active Directory way (512 + ACCOUNTDISABLE).
        _person("denis", "Denis Roux", "denis.roux@example.org", "userAccountControl: 514"),
        _person(
            "emma",
            "Emma Leroy",
            "emma.leroy@example.org",
            f"memberOf: cn=desk-admins,{GROUPS}",
        ),
        # Same e-mail as a local administrator of the tests: must never take it over.
        _person("root", "Root Impostor", "admin@example.org"),
        _group("desk-n1", "alice"),
        _group("chu-staff", "alice", "bruno"),
        _group("desk-admins", "emma"),
    ]
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Slapd:
    def __init__(self) -> None:
        self.tmp = Path(tempfile.mkdtemp(prefix="guichet-slapd-"))
        self.port = free_port()
        self.url = f"ldap://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None

    def _slapadd(self, db: str, ldif: str, name: str) -> None:
        path = self.tmp / name
        path.write_text(ldif)
        subprocess.run(
            ["slapadd", "-F", str(self.tmp / "config"), "-n", db, "-l", str(path)],
            check=True,
            capture_output=True,
        )

    @property
    def certificate(self) -> Path:
        """Self-signed, for 127.0.0.1: the CA file a client must be given for StartTLS."""
        return self.tmp / "cert.pem"

    def _make_certificate(self) -> None:
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
             "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
             "-keyout", str(self.tmp / "key.pem"), "-out", str(self.certificate)],
            check=True,
            capture_output=True,
        )  # fmt: skip

    def start(self) -> None:
        self._make_certificate()
        (self.tmp / "config").mkdir()
        (self.tmp / "data").mkdir()
        config = _CONFIG.format(
            tmp=self.tmp, suffix=SUFFIX, admin=ADMIN_DN, admin_password=ADMIN_PASSWORD
        )
        self._slapadd("0", config, "config.ldif")
        self._slapadd("1", _DATA, "data.ldif")
        # -d 0: stay in the foreground (a child we can stop), log nothing.
        self.process = subprocess.Popen(
            ["slapd", "-d", "0", "-F", str(self.tmp / "config"), "-h", f"{self.url}/"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"slapd exited: {self.process.stderr.read().decode()}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("slapd did not start listening within 30 s")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process is not None and self.process.stderr:
            self.process.stderr.close()
        shutil.rmtree(self.tmp, ignore_errors=True)
