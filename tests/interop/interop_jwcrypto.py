#!/usr/bin/python3
"""Interop with python3-jwcrypto (Debian package), both directions.

Usage: /usr/bin/python3 interop_jwcrypto.py PATH/TO/jose_tool
       /usr/bin/python3 interop_jwcrypto.py --daemon PATH/TO/instaccessd
Run with Debian's /usr/bin/python3: that is the interpreter with python3-jwcrypto installed.
Keys are generated here with the openssl CLI into a temporary directory. With --daemon, the real
daemon over its socket: Canvas-shaped claims each way, and the [tokens] defaults that follow the
operator's issuer and max_lifetime.
"""
import json
import os
import select
import socket
import subprocess
import sys
import tempfile
import time
import uuid

from jwcrypto import jwe, jwk, jws

DAEMON = sys.argv[2] if len(sys.argv) > 2 and sys.argv[1] == "--daemon" else None
TOOL = None if DAEMON else sys.argv[1]
FAILURES = []
CHECKS = 0


def check(cond, what):
    global CHECKS
    CHECKS += 1
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        FAILURES.append(what)


def sh(*args, stdin=None):
    return subprocess.run(args, input=stdin, capture_output=True, text=True)


def b64json(part):
    import base64
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


def make_keys(d):
    paths = {}
    for name, traditional in (("sig", False), ("enc", True), ("enc15", False), ("ps", False),
                              ("other", False)):
        priv = os.path.join(d, name + ".pem")
        if traditional:  # PKCS#1 "RSA PRIVATE KEY", the form many Canvas configs hold
            r = sh("openssl", "genrsa", "-traditional", "-out", priv, "2048")
        else:  # PKCS#8
            r = sh("openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048",
                   "-out", priv)
        assert r.returncode == 0, r.stderr
        pub = os.path.join(d, name + ".pub.pem")
        assert sh("openssl", "pkey", "-in", priv, "-pubout", "-out", pub).returncode == 0
        paths[name] = (priv, pub)
    return paths


def load(path):
    with open(path, "rb") as f:
        return jwk.JWK.from_pem(f.read())


# --- our tokens, opened by jwcrypto --------------------------------------------------------------

def jwcrypto_open(token, enc_priv, sig_pub, enc_algs):
    e = jwe.JWE()
    e.allowed_algs = enc_algs + ["A128CBC-HS256", "A256GCM"]
    e.deserialize(token, key=enc_priv)
    inner = e.payload.decode()
    s = jws.JWS()
    s.allowed_algs = ["RS256", "PS256"]
    s.deserialize(inner)
    s.verify(sig_pub)
    return b64json(token.split(".")[0]), b64json(inner.split(".")[0]), json.loads(s.payload)


def ours_to_jwcrypto(k):
    cases = [
        ("default shape RS256/RSA-OAEP/A128CBC-HS256", "sig", "RS256", "enc", "RSA-OAEP", [], None),
        ("Canvas shape RS256/RSA-OAEP/A128CBC-HS256", "sig", "RS256", "enc", "RSA-OAEP",
         ["--canvas"], {"alg": "RSA-OAEP", "enc": "A128CBC-HS256"}),
        ("Canvas shape RS256/RSA1_5/A128CBC-HS256", "sig", "RS256", "enc15", "RSA1_5", ["--canvas"],
         {"alg": "RSA1_5", "enc": "A128CBC-HS256"}),
        ("PS256/RSA-OAEP-256/A256GCM", "ps", "PS256", "enc", "RSA-OAEP-256",
         ["--content", "A256GCM"], None),
    ]
    for name, sk, salg, ek, ealg, extra, want_header in cases:
        claims = {"sub": "u-" + name[:5], "acct": "a1", "masq_shard": 3, "instructure_service": True}
        r = sh(TOOL, "issue", "--sig", k[sk][0] + ":" + salg, "--enc", k[ek][1] + ":" + ealg,
               "--claims", json.dumps(claims), *extra)
        check(r.returncode == 0, name + ": issued (" + r.stderr.strip() + ")")
        if r.returncode != 0:
            continue
        token = r.stdout.strip()
        try:
            jwe_h, jws_h, got = jwcrypto_open(token, load(k[ek][0]), load(k[sk][1]), [ealg])
        except Exception as ex:  # noqa: BLE001 - report and go on
            check(False, name + ": jwcrypto opens it (" + repr(ex) + ")")
            continue
        check(got["sub"] == claims["sub"] and got["masq_shard"] == 3, name + ": claims intact")
        check(got["iss"] == "instructure:inst_access" and got["exp"] - got["iat"] == 3600,
              name + ": standard claims")
        if want_header is not None:
            check(jwe_h == want_header, name + ": JWE header is exactly " + json.dumps(want_header))
            check(jws_h == {"typ": "JWT", "alg": salg}, name + ": JWS header is {typ,alg} only")
        else:
            check(jwe_h.get("cty") == "JWT" and jwe_h.get("kid") == load(k[ek][1]).thumbprint(),
                  name + ": cty JWT and RFC 7638 kid on the JWE")
            check(jws_h.get("kid") == load(k[sk][1]).thumbprint(), name + ": kid on the JWS")
    # A bare JWS.
    r = sh(TOOL, "issue", "--sig", k["sig"][0] + ":RS256", "--no-encrypt")
    s = jws.JWS()
    s.allowed_algs = ["RS256"]
    s.deserialize(r.stdout.strip())
    try:
        s.verify(load(k["sig"][1]))
        check(json.loads(s.payload)["sub"] == "interop-user", "bare JWS verifies in jwcrypto")
    except Exception as ex:  # noqa: BLE001
        check(False, "bare JWS verifies in jwcrypto (" + repr(ex) + ")")


# --- jwcrypto's tokens, opened by us -------------------------------------------------------------

def jwcrypto_issue(claims, sig_key, jws_header, enc_key, jwe_header):
    s = jws.JWS(json.dumps(claims))
    s.allowed_algs = ["RS256", "PS256", "HS256"]
    s.add_signature(sig_key, protected=json.dumps(jws_header))
    inner = s.serialize(compact=True)
    if enc_key is None:
        return inner
    e = jwe.JWE(inner.encode(), protected=json.dumps(jwe_header))
    e.allowed_algs = [jwe_header["alg"], jwe_header["enc"]]
    e.add_recipient(enc_key)
    return e.serialize(compact=True)


def ours_open(k, token, sig, enc, *extra):
    args = [TOOL, "open"]
    for spec in sig:
        args += ["--sig", spec]
    for spec in enc:
        args += ["--enc", spec]
    return sh(*args, *extra, stdin=token + "\n")


def jwcrypto_to_ours(k):
    now = int(time.time())
    claims = {"iss": "instructure:inst_access", "sub": "canvas-user", "acct": "acct-7",
              "iat": now, "exp": now + 3600, "jti": "7f1c9b1e-3d4e-4f7a-9b2c-0d1e2f3a4b5c",
              "canvas_domain": "canvas.example.edu", "canvas_shard_id": 2}
    sig_spec = [k["other"][1] + ":RS256", k["sig"][1] + ":RS256", k["ps"][1] + ":PS256"]
    enc_spec = [k["enc15"][0] + ":RSA1_5", k["enc"][0] + ":RSA-OAEP"]
    canvas_jws = {"typ": "JWT", "alg": "RS256"}
    cases = [
        ("Canvas shape RSA-OAEP", load(k["sig"][0]), canvas_jws, load(k["enc"][1]),
         {"alg": "RSA-OAEP", "enc": "A128CBC-HS256"}, "sig", "enc"),
        ("Canvas shape RSA1_5", load(k["sig"][0]), canvas_jws, load(k["enc15"][1]),
         {"alg": "RSA1_5", "enc": "A128CBC-HS256"}, "sig", "enc15"),
    ]
    ps = load(k["ps"][0])
    enc_pub = load(k["enc"][1])
    cases.append(("kid+cty PS256/RSA-OAEP-256/A256GCM", ps,
                  {"typ": "JWT", "alg": "PS256", "kid": ps.thumbprint()}, enc_pub,
                  {"alg": "RSA-OAEP-256", "enc": "A256GCM", "cty": "JWT",
                   "kid": enc_pub.thumbprint()}, "ps", "enc"))
    oaep256_spec = enc_spec + [k["enc"][0] + ":RSA-OAEP-256"]
    for name, sk, jh, ek, eh, sname, ename in cases:
        token = jwcrypto_issue(claims, sk, jh, ek, eh)
        r = ours_open(k, token, sig_spec, oaep256_spec if "256" in eh["alg"] else enc_spec)
        check(r.returncode == 0, name + ": we open jwcrypto's token (" + r.stdout.strip() +
              " " + r.stderr.strip() + ")")
        if r.returncode == 0:
            out = json.loads(r.stdout)
            check(out["claims"] == claims, name + ": claims intact")
            check(out["sig_kid"] == load(k[sname][1]).thumbprint() and
                  out["enc_kid"] == load(k[ename][1]).thumbprint(), name + ": kids of the keys used")

    # Negative cases made by jwcrypto: each must be refused with the right code.
    expired = dict(claims, iat=now - 7200, exp=now - 3600)
    t = jwcrypto_issue(expired, load(k["sig"][0]), canvas_jws, enc_pub,
                       {"alg": "RSA-OAEP", "enc": "A128CBC-HS256"})
    r = ours_open(k, t, sig_spec, enc_spec)
    check(r.returncode == 1 and r.stdout.strip() == "token_expired", "expired -> token_expired")
    t = jwcrypto_issue(expired, load(k["enc15"][0]), canvas_jws, enc_pub,
                       {"alg": "RSA-OAEP", "enc": "A128CBC-HS256"})
    r = ours_open(k, t, sig_spec, enc_spec)
    check(r.returncode == 1 and r.stdout.strip() == "invalid_token",
          "expired but signed by an unknown key -> invalid_token")
    with open(k["sig"][1], "rb") as f:
        hs_key = jwk.JWK(kty="oct", k=jwk.base64url_encode(f.read()))
    t = jwcrypto_issue(claims, hs_key, {"typ": "JWT", "alg": "HS256"}, enc_pub,
                       {"alg": "RSA-OAEP", "enc": "A128CBC-HS256"})
    r = ours_open(k, t, sig_spec, enc_spec)
    check(r.returncode == 1 and r.stdout.strip() == "invalid_token",
          "HS256 keyed with the public PEM -> invalid_token")
    t = jwcrypto_issue(claims, load(k["sig"][0]), canvas_jws, enc_pub,
                       {"alg": "RSA-OAEP", "enc": "A128CBC-HS256", "cty": "application/json"})
    r = ours_open(k, t, sig_spec, enc_spec)
    check(r.returncode == 1 and r.stdout.strip() == "invalid_token", "wrong cty -> invalid_token")
    bare = jwcrypto_issue(claims, load(k["sig"][0]), canvas_jws, None, None)
    r = ours_open(k, bare, sig_spec, enc_spec)
    check(r.returncode == 1 and r.stdout.strip() == "invalid_token",
          "bare JWS refused by default")
    r = ours_open(k, bare, sig_spec, enc_spec, "--accept-unencrypted")
    check(r.returncode == 0 and json.loads(r.stdout)["claims"]["sub"] == "canvas-user",
          "bare JWS accepted with --accept-unencrypted")


# --- the real daemon ------------------------------------------------------------------------------

class Daemon:
    """instaccessd in its own directory (the embedded default plus `toml`), ready once READY=1
    came on its notify socket, as systemd would see it; stopped with SIGTERM, which must exit 0."""

    def __init__(self, d, toml):
        os.makedirs(d)
        self.dir = d
        self.sock = os.path.join(d, "d.sock")
        with open(os.path.join(d, "instaccessd.toml"), "w") as f:
            f.write(toml)
        notify_path = os.path.join(d, "notify.sock")
        notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        notify.bind(notify_path)
        self.stderr = os.path.join(d, "instaccessd.stderr")
        with open(self.stderr, "w") as err:
            self.proc = subprocess.Popen([DAEMON], cwd=d, stdin=subprocess.DEVNULL,
                                         stdout=subprocess.DEVNULL, stderr=err,
                                         env={"PATH": "/usr/bin:/bin", "LANG": "C",
                                              "NOTIFY_SOCKET": notify_path})
        deadline = time.monotonic() + 30
        while True:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([notify], [], [], left)[0]:
                with open(self.stderr) as f:
                    raise RuntimeError("daemon never became ready:\n" + f.read())
            if "\nREADY=1\n" in "\n" + notify.recv(4096).decode() + "\n":
                break
        notify.close()

    def call(self, path, body=None):
        """(status, parsed JSON body) of one request over the socket (curl speaks HTTP)."""
        args = ["curl", "-sS", "--unix-socket", self.sock, "-w", "\n%{http_code}"]
        if body is not None:
            args += ["-H", "Content-Type: application/json", "--data-binary", "@-"]
        r = sh(*args, "http://localhost" + path,
               stdin=None if body is None else json.dumps(body))
        assert r.returncode == 0, r.stderr
        text, _, code = r.stdout.rpartition("\n")
        try:
            return int(code), json.loads(text)
        except ValueError:
            return int(code), text

    def stop(self):
        self.proc.terminate()
        check(self.proc.wait(30) == 0, "daemon drains and exits 0")


# The claims of canvas-lms's Canvas::OAuth::ServiceUserClientCredentialsProvider#token as
# InstAccess::Token.for_user (inst_access gem) puts them: client_id the developer key's global id
# (an integer past 2^32), instructure_service a boolean, debug_user_global_id the global id as a
# string, masq_shard and canvas_shard_id integers. Plus what InstFS tokens that Canvas reads carry
# (app/helpers/attachment_helper.rb): aud a list, resource a path, tenant_auth an object.
CANVAS_CLAIMS = {
    "sub": "Wq6Hh1ZaEV6tRsVbIoJtYXWVajG1m8y2qXQZ2cDb",
    "acct": "K3tCmB7tzgWnB3nHdS7PFDMmp0tIf3yHqgmXj0x1",
    "canvas_domain": "canvas.example.edu",
    "masq_sub": "b8ZQf0sC4gJx0dRkG2c7u9VfTzWnYl1aPqHe3MoN", "masq_shard": 10000,
    "debug_user_global_id": "170000000000042", "debug_masq_global_id": "10000000000007",
    "region": "us-east-1", "client_id": 170000000000123, "instructure_service": True,
    "canvas_shard_id": 17,
    "aud": ["K3tCmB7tzgWnB3nHdS7PFDMmp0tIf3yHqgmXj0x1"],
    "resource": "/courses/1/files/2?instfs_id=stuff",
    "tenant_auth": {"location": "location", "ids": [1, 2]},
}


def same_json(got, want):
    """Equal, and every value of the same Python type (True is not 1, 1 is not 1.0 or "1")."""
    if type(got) is not type(want):
        return False
    if isinstance(want, dict):
        return got.keys() == want.keys() and all(same_json(got[k], v) for k, v in want.items())
    if isinstance(want, list):
        return len(got) == len(want) and all(same_json(g, w) for g, w in zip(got, want))
    return got == want


def without_standard(claims):
    return {k: v for k, v in claims.items() if k not in ("iss", "iat", "exp", "jti")}


def daemon_canvas_round_trips(k, d):
    daemon = Daemon(os.path.join(d, "canvas"), '[daemon]\nsocket = "d.sock"\n'
                                               '[tokens]\ninclude_kid = false\n')
    try:
        with open(k["enc"][0]) as f:  # the gateway's key: the daemon decrypts, Canvas encrypts
            st, key = daemon.call("/api/v1/keys/import",
                                  {"purpose": "enc", "pem": f.read(), "activate": True})
        check(st == 201 and key["state"] == "active",
              "daemon imports the enc key (%d %s)" % (st, "" if st == 201 else key))
        with open(k["sig"][1]) as f:  # Canvas's signing key, public part, for Canvas's issuer
            # A stock Canvas signs as the daemon's own issuer, which the import must be told.
            pem = f.read()
        st, key = daemon.call("/api/v1/keys/import",
                              {"purpose": "sig", "pem": pem, "allow_own_issuer": True,
                               "issuers": ["instructure:inst_access"]})
        if st == 400 and key["error"]["message"].startswith("unknown member"):
            # A daemon whose peer keys are not bound to issuers.
            st, key = daemon.call("/api/v1/keys/import", {"purpose": "sig", "pem": pem})
        check(st == 201 and key["origin"] == "peer",
              "daemon imports Canvas's sig key (%d %s)" % (st, "" if st == 201 else key))
        _, keys = daemon.call("/api/v1/keys")
        sig_kid = next(x["kid"] for x in keys["keys"]
                       if x["purpose"] == "sig" and x["state"] == "active")
        _, jwks = daemon.call("/.well-known/jwks.json")
        sig_pub = jwk.JWK(**next(x for x in jwks["keys"] if x["kid"] == sig_kid))

        # Daemon -> jwcrypto.
        for claims in (CANVAS_CLAIMS, dict(CANVAS_CLAIMS, client_id=2**64 - 1),
                       dict(CANVAS_CLAIMS, client_id=2**63 - 1, aud="one-audience"),
                       dict(CANVAS_CLAIMS, client_id="svc-client", instructure_service=False)):
            what = "daemon issues client_id %r" % (claims["client_id"],)
            st, body = daemon.call("/api/v1/inst_access_tokens", {"claims": claims})
            check(st == 201, "%s: 201 (%d %s)" % (what, st, "" if st == 201 else body))
            if st != 201:
                continue
            token = body["token"]
            try:
                jwe_h, jws_h, got = jwcrypto_open(token, load(k["enc"][0]), sig_pub, ["RSA-OAEP"])
            except Exception as ex:  # noqa: BLE001 - report and go on
                check(False, what + ": jwcrypto opens it (" + repr(ex) + ")")
                continue
            check(same_json(without_standard(got), claims),
                  what + ": jwcrypto opens it, every claim and JSON type intact")
            check(got["iss"] == "instructure:inst_access" and got["exp"] - got["iat"] == 3600,
                  what + ": standard claims")
            check(jwe_h == {"alg": "RSA-OAEP", "enc": "A128CBC-HS256"} and
                  jws_h == {"typ": "JWT", "alg": "RS256"}, what + ": Canvas's header shape")

        # jwcrypto, shaped as Canvas's token library makes it -> daemon.
        now = int(time.time())
        for c in (CANVAS_CLAIMS, dict(CANVAS_CLAIMS, client_id=2**64 - 1)):
            what = "jwcrypto Canvas-shaped token, client_id %r" % (c["client_id"],)
            claims = dict({"iss": "instructure:inst_access", "jti": str(uuid.uuid4()), "iat": now,
                           "exp": now + 3600}, **c)
            token = jwcrypto_issue(claims, load(k["sig"][0]), {"typ": "JWT", "alg": "RS256"},
                                   load(k["enc"][1]), {"alg": "RSA-OAEP", "enc": "A128CBC-HS256"})
            st, body = daemon.call("/api/v1/inst_access_tokens/decrypt", {"token": token})
            check(st == 200, "%s: the daemon decrypts it (%d %s)" % (what, st,
                                                                     "" if st == 200 else body))
            if st == 200:
                check(same_json(body["claims"], claims),
                      what + ": every claim and JSON type intact")
    finally:
        daemon.stop()


def daemon_defaults_follow_the_operator(d):
    """An operator's own issuer and a shorter max_lifetime, nothing else: the daemon starts,
    issues tokens that live max_lifetime and accepts them back."""
    daemon = Daemon(os.path.join(d, "own-issuer"),
                    '[daemon]\nsocket = "d.sock"\n'
                    '[tokens]\nissuer = "example:gateway"\nmax_lifetime = "30m"\n')
    try:
        st, body = daemon.call("/api/v1/inst_access_tokens", {"claims": CANVAS_CLAIMS})
        check(st == 201, "own issuer, max_lifetime 30m: issued (%d)" % st)
        if st == 201:
            st, got = daemon.call("/api/v1/inst_access_tokens/decrypt", {"token": body["token"]})
            check(st == 200, "own issuer: the daemon accepts its own token (%d %s)" % (st, got))
            if st == 200:
                c = got["claims"]
                check(c["iss"] == "example:gateway" and c["exp"] - c["iat"] == 1800,
                      "own issuer: iss is ours, the default ttl followed max_lifetime")
                check(same_json(without_standard(c), CANVAS_CLAIMS), "own issuer: types intact")
    finally:
        daemon.stop()


def main():
    with tempfile.TemporaryDirectory() as d:
        keys = make_keys(d)
        if DAEMON:
            daemon_canvas_round_trips(keys, d)
            daemon_defaults_follow_the_operator(d)
        else:
            ours_to_jwcrypto(keys)
            jwcrypto_to_ours(keys)
    print("%d checks, %d failed" % (CHECKS, len(FAILURES)))
    return 1 if FAILURES or CHECKS == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
