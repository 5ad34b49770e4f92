#!/usr/bin/python3
"""Interop with python3-jwcrypto (Debian package), both directions.

Usage: /usr/bin/python3 interop_jwcrypto.py PATH/TO/jose_tool
Run with Debian's /usr/bin/python3: that is the interpreter with python3-jwcrypto installed.
Keys are generated here with the openssl CLI into a temporary directory.
"""
import json
import os
import subprocess
import sys
import tempfile
import time

from jwcrypto import jwe, jwk, jws

TOOL = sys.argv[1]
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


def main():
    with tempfile.TemporaryDirectory() as d:
        keys = make_keys(d)
        ours_to_jwcrypto(keys)
        jwcrypto_to_ours(keys)
    print("%d checks, %d failed" % (CHECKS, len(FAILURES)))
    return 1 if FAILURES or CHECKS == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
